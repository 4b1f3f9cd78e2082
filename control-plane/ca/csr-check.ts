// Checks a certificate signing request from the network before anything is signed: PEM shape,
// self-signature (proof the requester holds the key), key type and size, and the one SPIFFE ID
// it asks for. The CA decides every other field of the certificate itself.
import { verify } from 'node:crypto';
import forge from 'node-forge';
import { parseWorkloadId, SpiffeIdError, type WorkloadId } from '../api/spiffe-id.js';
import { CaError } from './ca-errors.js';

const MAX_CSR_PEM_LENGTH = 16 * 1024;
const MIN_RSA_BITS = 2048;

export interface CheckedCsr {
  readonly publicKey: forge.pki.rsa.PublicKey;
  readonly requestedId: WorkloadId;
}

interface AltName {
  type: number;
  value?: string;
}

function requestedAltNames(csr: forge.pki.CertificateSigningRequest): AltName[] {
  const request = csr.getAttribute({ name: 'extensionRequest' }) as
    | { extensions?: { name?: string; altNames?: AltName[] }[] }
    | null;
  const san = request?.extensions?.find((extension) => extension.name === 'subjectAltName');
  return san?.altNames ?? [];
}

const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  [forge.pki.oids.sha256WithRSAEncryption as string]: 'sha256',
  [forge.pki.oids.sha384WithRSAEncryption as string]: 'sha384',
  [forge.pki.oids.sha512WithRSAEncryption as string]: 'sha512',
};

/** The CSR's self-signature, checked natively (forge's JavaScript RSA is slow); SHA-1 is refused. */
function signatureVerifies(csr: forge.pki.CertificateSigningRequest): boolean {
  const hash = csr.signatureOid === null ? undefined : SIGNATURE_HASHES[csr.signatureOid];
  if (hash === undefined || csr.certificationRequestInfo === null) return false;
  try {
    const signed = Buffer.from(forge.asn1.toDer(csr.certificationRequestInfo).getBytes(), 'binary');
    const publicKeyPem = forge.pki.publicKeyToPem(csr.publicKey as forge.pki.PublicKey);
    return verify(hash, signed, publicKeyPem, Buffer.from(csr.signature as string, 'binary'));
  } catch {
    return false;
  }
}

export function checkCsr(pem: string): CheckedCsr {
  if (typeof pem !== 'string' || pem.length === 0) throw new CaError('CSR_INVALID', 'no CSR was sent');
  if (pem.length > MAX_CSR_PEM_LENGTH) throw new CaError('CSR_INVALID', 'the CSR is too large');
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(pem);
  } catch (error) {
    throw new CaError('CSR_INVALID', `not a PEM PKCS#10 request (${(error as Error).message})`);
  }
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (publicKey === null || typeof publicKey.n?.bitLength !== 'function') {
    throw new CaError('CSR_INVALID', 'the key must be RSA');
  }
  if (publicKey.n.bitLength() < MIN_RSA_BITS) {
    throw new CaError('CSR_INVALID', `the RSA key must have at least ${MIN_RSA_BITS} bits`);
  }
  if (!signatureVerifies(csr)) throw new CaError('CSR_INVALID', 'the CSR signature does not verify');
  const altNames = requestedAltNames(csr);
  if (altNames.length !== 1 || altNames[0]?.type !== 6 || typeof altNames[0].value !== 'string') {
    throw new CaError('CSR_INVALID', 'the CSR must ask for exactly one subject alternative name, a URI');
  }
  try {
    return { publicKey, requestedId: parseWorkloadId(altNames[0].value) };
  } catch (error) {
    if (error instanceof SpiffeIdError) throw new CaError('CSR_INVALID', error.message);
    throw error;
  }
}
