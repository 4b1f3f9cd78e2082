// PEM bundles as both sides of the contract exchange them: one string per certificate.

/** The certificates in a PEM text, each normalised to LF line ends and a final newline. */
export function splitPemCertificates(text: string): string[] {
  const pems = text.replace(/\r\n/g, '\n').match(/-----BEGIN CERTIFICATE-----\n[\s\S]+?\n-----END CERTIFICATE-----/g);
  return pems?.map((pem) => `${pem}\n`) ?? [];
}
