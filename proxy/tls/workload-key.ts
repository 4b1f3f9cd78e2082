// A sidecar's key pair and CSR. The key is made with node:crypto and stays in this process; only
// the CSR (encoded by node-forge, which handles RSA keys only, hence RSA 2048; signed natively)
// goes to the CA.
import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { signWithNodeCrypto } from '../../control-plane/api/x509-signing.js';

const generateRsa = promisify(generateKeyPair);

export interface WorkloadKey {
  readonly privateKeyPem: string;
  readonly csrPem: string;
}

export function createCsr(privateKeyPem: string, spiffeId: string): string {
  const privateKey = createPrivateKey(privateKeyPem);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString());
  csr.setAttributes([
    { name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 6, value: spiffeId }] }] },
  ]);
  signWithNodeCrypto(csr, privateKey);
  return forge.pki.certificationRequestToPem(csr);
}

export async function createWorkloadKey(spiffeId: string): Promise<WorkloadKey> {
  const { privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { privateKeyPem, csrPem: createCsr(privateKeyPem, spiffeId) };
}
