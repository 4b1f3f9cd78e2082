// crypto.x509.parse_certificates and crypto.x509.parse_and_verify_certificates on Node's X509
// parser. The result keeps the field names of Go's x509.Certificate that policies read (Subject,
// Issuer, NotBefore, NotAfter, SerialNumber, DNSNames, URIs, IPAddresses, EmailAddresses, IsCA,
// ExtKeyUsage, PublicKeyAlgorithm, Version, Raw); the rest of Go's structure is not reproduced.
import { X509Certificate } from 'node:crypto';
import { makeArray, makeObject, normalizeNumber, type Value } from '../value.js';
import { builtinError, define } from './support.js';

/** Certificates in one argument, as OPA accepts them: PEM, or base64 of PEM or of DER. */
export function certificateBuffers(name: string, text: string): Buffer[] {
  const pem = text.includes('-----BEGIN') ? text : Buffer.from(text, 'base64').toString('latin1');
  if (pem.includes('-----BEGIN')) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw builtinError(name, 'no PEM certificates found');
    return blocks.map((block) => Buffer.from(block, 'latin1'));
  }
  return splitDer(name, Buffer.from(text, 'base64'));
}

/** Concatenated DER certificates, split by their outer SEQUENCE lengths. */
function splitDer(name: string, der: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < der.length) {
    if (der[offset] !== 0x30 || offset + 2 > der.length) throw builtinError(name, 'input is not PEM or DER certificates');
    let length = der[offset + 1]!;
    let header = 2;
    if (length & 0x80) {
      const bytes = length & 0x7f;
      if (bytes === 0 || bytes > 4 || offset + 2 + bytes > der.length) throw builtinError(name, 'malformed DER length');
      length = der.readUIntBE(offset + 2, bytes);
      header += bytes;
    }
    out.push(der.subarray(offset, offset + header + length));
    offset += header + length;
  }
  if (out.length === 0) throw builtinError(name, 'no certificates found');
  return out;
}

export function parseCertificates(name: string, buffers: readonly Buffer[]): X509Certificate[] {
  return buffers.map((buffer) => {
    try {
      return new X509Certificate(buffer);
    } catch (error) {
      throw builtinError(name, `failed to parse certificate: ${(error as Error).message}`);
    }
  });
}

const nameFields: Record<string, string> = {
  C: 'Country',
  O: 'Organization',
  OU: 'OrganizationalUnit',
  L: 'Locality',
  ST: 'Province',
  street: 'StreetAddress',
  postalCode: 'PostalCode',
};

/** Node's distinguished name text ("C=US\nO=Acme\, Inc.\nCN=x") as Go's pkix.Name fields. */
export function distinguishedName(text: string | undefined): Value {
  const fields = new Map<string, string[]>();
  let commonName = '';
  let serial = '';
  for (const line of (text ?? '').split('\n')) {
    const equals = line.indexOf('=');
    if (equals === -1) continue;
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1).replace(/\\(.)/g, '$1');
    if (key === 'CN') commonName = value;
    else if (key === 'serialNumber') serial = value;
    else if (nameFields[key] !== undefined) fields.set(nameFields[key]!, [...(fields.get(nameFields[key]!) ?? []), value]);
  }
  const entries: [string, Value][] = Object.values(nameFields).map((field) => [field, fields.has(field) ? makeArray(fields.get(field)!) : null]);
  entries.push(['SerialNumber', serial], ['CommonName', commonName]);
  return makeObject(entries);
}

/** Node's subjectAltName text: "DNS:a, URI:spiffe://x, IP Address:1.2.3.4" (values may be JSON-quoted). */
export function alternativeNames(text: string | undefined): Map<string, string[]> {
  const names = new Map<string, string[]>();
  const pattern = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/gy;
  for (const match of (text ?? '').matchAll(pattern)) {
    const raw = match[2]!;
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    names.set(match[1]!, [...(names.get(match[1]!) ?? []), value]);
  }
  return names;
}

/** A URI as Go's url.URL marshals it (the fields policies use). */
export function uriValue(text: string): Value {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  return makeObject([
    ['Scheme', url ? url.protocol.replace(/:$/, '') : ''],
    ['Opaque', ''],
    ['User', null],
    ['Host', url ? url.host : ''],
    ['Path', url ? decodeURIComponent(url.pathname) : text],
    ['RawPath', ''],
    ['ForceQuery', false],
    ['RawQuery', url ? url.search.replace(/^\?/, '') : ''],
    ['Fragment', url ? decodeURIComponent(url.hash.replace(/^#/, '')) : ''],
    ['RawFragment', ''],
  ]);
}

const extKeyUsages: Record<string, number> = {
  '2.5.29.37.0': 0,
  '1.3.6.1.5.5.7.3.1': 1,
  '1.3.6.1.5.5.7.3.2': 2,
  '1.3.6.1.5.5.7.3.3': 3,
  '1.3.6.1.5.5.7.3.4': 4,
  '1.3.6.1.5.5.7.3.8': 8,
  '1.3.6.1.5.5.7.3.9': 9,
};

const publicKeyAlgorithms: Record<string, number> = { rsa: 1, 'rsa-pss': 1, dsa: 2, ec: 3, ed25519: 4 };

const goTime = (text: string) => new Date(text).toISOString().replace(/\.000Z$/, 'Z');

export function certificateValue(certificate: X509Certificate): Value {
  const alternatives = alternativeNames(certificate.subjectAltName);
  const list = (key: string) => (alternatives.has(key) ? makeArray(alternatives.get(key)!) : null);
  const uris = alternatives.get('URI');
  return makeObject([
    ['Raw', certificate.raw.toString('base64')],
    ['Version', 3],
    ['SerialNumber', normalizeNumber(BigInt(`0x${certificate.serialNumber}`))],
    ['Subject', distinguishedName(certificate.subject)],
    ['Issuer', distinguishedName(certificate.issuer)],
    ['NotBefore', goTime(certificate.validFrom)],
    ['NotAfter', goTime(certificate.validTo)],
    ['IsCA', certificate.ca],
    ['BasicConstraintsValid', certificate.ca],
    ['PublicKeyAlgorithm', publicKeyAlgorithms[certificate.publicKey.asymmetricKeyType ?? ''] ?? 0],
    ['ExtKeyUsage', certificate.keyUsage ? makeArray(certificate.keyUsage.map((oid) => extKeyUsages[oid] ?? -1).filter((n) => n >= 0)) : null],
    ['DNSNames', list('DNS')],
    ['EmailAddresses', list('email')],
    ['IPAddresses', list('IP Address')],
    ['URIs', uris ? makeArray(uris.map(uriValue)) : null],
  ]);
}

/** Root first, leaf last (OPA's order): each certificate issued and signed by the one before, all valid now. */
function chainValid(certificates: readonly X509Certificate[], nowMs: number): boolean {
  if (certificates.length < 2) return false;
  return certificates.every((certificate, index) => {
    const issuer = certificates[index === 0 ? 0 : index - 1]!;
    const within = Date.parse(certificate.validFrom) <= nowMs && nowMs <= Date.parse(certificate.validTo);
    const issuerCan = index === certificates.length - 1 || certificate.ca;
    return within && issuerCan && certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  });
}

export const x509Builtins = [
  define('crypto.x509.parse_certificates', ['string'], ([text]) => {
    const name = 'crypto.x509.parse_certificates';
    return makeArray(parseCertificates(name, certificateBuffers(name, text as string)).map(certificateValue));
  }),
  define(
    'crypto.x509.parse_and_verify_certificates',
    ['string'],
    ([text], context) => {
      const name = 'crypto.x509.parse_and_verify_certificates';
      let certificates: X509Certificate[];
      try {
        certificates = parseCertificates(name, certificateBuffers(name, text as string));
      } catch {
        return makeArray([false, makeArray([])]);
      }
      if (!chainValid(certificates, Number(context.nowNs / 1_000_000n))) return makeArray([false, makeArray([])]);
      return makeArray([true, makeArray(certificates.map(certificateValue))]);
    },
    { nondeterministic: true },
  ),
];
