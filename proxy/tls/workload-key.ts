// A sidecar's key pair and CSR. The key is made with node:crypto and stays in this process; only
// the CSR (made with node-forge, which signs with RSA only, hence RSA 2048) goes to the CA.
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateRsa = promisify(generateKeyPair);

export interface WorkloadKey {
  readonly privateKeyPem: string;
  readonly csrPem: string;
}

export function createCsr(privateKeyPem: string, spiffeId: string): string {
  const privateKey = forge.pki.privateKeyFromPem(privateKeyPem) as forge.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  csr.setAttributes([
    { name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 6, value: spiffeId }] }] },
  ]);
  csr.sign(privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

export async function createWorkloadKey(spiffeId: string): Promise<WorkloadKey> {
  const { privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { privateKeyPem, csrPem: createCsr(privateKeyPem, spiffeId) };
}
