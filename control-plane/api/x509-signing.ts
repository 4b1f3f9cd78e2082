// Signs node-forge certificates and CSRs with node:crypto. Both sides of the certificate contract
// build X.509 with node-forge, but forge's RSA is pure JavaScript: a 2048-bit signature took
// ~200 ms here, blocking the event loop (the CA while issuing, the sidecar while renewing). forge
// still encodes the structure; the signature over it is made natively (~1 ms).
import { sign, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';

type Signable = forge.pki.Certificate | forge.pki.CertificateSigningRequest;

/** sha256WithRSAEncryption (PKCS #1 v1.5) over what forge encodes, with an RSA key. */
export function signWithNodeCrypto(target: Signable, privateKey: KeyObject): void {
  const encoded: string[] = [];
  // forge reads `algorithm` for the signature OID, feeds the DER to `update`, then asks the key.
  const digest = {
    algorithm: 'sha256',
    update(bytes: string) {
      encoded.push(bytes);
      return digest;
    },
  };
  const key = { sign: () => sign('sha256', Buffer.from(encoded.join(''), 'binary'), privateKey).toString('binary') };
  (target as { sign(key: unknown, md: unknown): void }).sign(key, digest);
}
