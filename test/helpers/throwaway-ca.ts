// Throwaway CAs made at run time for tests (no private key is ever committed): roots,
// intermediates, a ready CertificateAuthority, and workload certificates issued from it.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { CertificateAuthority, type CaKeyPair } from '../../control-plane/ca/certificate-authority.js';
import { buildLeafCertificate, buildRootCertificate, forgePublicKey, randomSerial } from '../../control-plane/ca/certificate-builder.js';
import { signWithNodeCrypto } from '../../control-plane/api/x509-signing.js';
import { workloadId } from '../../control-plane/api/spiffe-id.js';
import { createWorkloadKey } from '../../proxy/tls/workload-key.js';

export const TEST_TRUST_DOMAIN = 'test.local';
const YEAR_MS = 365 * 24 * 3600_000;

export function rsaKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function throwawayRoot(commonName = 'throwaway root'): CaKeyPair {
  const privateKeyPem = rsaKeyPem();
  return { certificatePem: buildRootCertificate({ privateKeyPem, commonName, ttlMs: YEAR_MS }), privateKeyPem };
}

/** An intermediate CA signed by `parent` (tests of plugged-in intermediates). */
export function throwawayIntermediate(parent: CaKeyPair, commonName = 'throwaway intermediate'): CaKeyPair {
  const privateKeyPem = rsaKeyPem();
  const parentCert = forge.pki.certificateFromPem(parent.certificatePem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(createPrivateKey(privateKeyPem));
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + YEAR_MS);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer(parentCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signWithNodeCrypto(cert, createPrivateKey(parent.privateKeyPem));
  return { certificatePem: forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n'), privateKeyPem };
}

export function throwawayCa(options: { defaultTtlMs?: number; root?: CaKeyPair } = {}): {
  ca: CertificateAuthority;
  root: CaKeyPair;
} {
  const root = options.root ?? throwawayRoot();
  const ca = new CertificateAuthority({
    trustDomain: TEST_TRUST_DOMAIN,
    signing: root,
    trustBundlePems: [root.certificatePem],
    ...(options.defaultTtlMs === undefined ? {} : { defaultTtlMs: options.defaultTtlMs }),
  });
  return { ca, root };
}

export function testId(serviceAccount: string, namespace = 'default'): string {
  return workloadId({ trustDomain: TEST_TRUST_DOMAIN, namespace, serviceAccount }).uri;
}

export interface WorkloadCredentials {
  readonly spiffeId: string;
  readonly privateKeyPem: string;
  readonly chainPems: readonly string[];
  readonly trustBundlePems: readonly string[];
}

export async function issueWorkload(ca: CertificateAuthority, spiffeId: string, ttlMs?: number): Promise<WorkloadCredentials> {
  const key = await createWorkloadKey(spiffeId);
  const issued = ca.issueForCsr(key.csrPem, spiffeId, ttlMs);
  return { spiffeId, privateKeyPem: key.privateKeyPem, chainPems: issued.chainPems, trustBundlePems: issued.trustBundlePems };
}

/** A workload certificate that expired an hour ago, signed by `issuer`. */
export async function expiredWorkload(issuer: CaKeyPair, spiffeId: string): Promise<WorkloadCredentials> {
  const key = await createWorkloadKey(spiffeId);
  const pem = buildLeafCertificate({
    publicKey: forgePublicKey(createPrivateKey(key.privateKeyPem)),
    spiffeId,
    issuer: { certificate: forge.pki.certificateFromPem(issuer.certificatePem), privateKey: createPrivateKey(issuer.privateKeyPem) },
    ttlMs: 60_000,
    now: Date.now() - 2 * 3600_000,
  });
  return { spiffeId, privateKeyPem: key.privateKeyPem, chainPems: [pem], trustBundlePems: [issuer.certificatePem] };
}
