import { X509Certificate } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootstrapTokens } from '../../../control-plane/ca/bootstrap-token.js';
import { fetchTrustBundle, requestCertificate, type CaCredential } from '../../../proxy/tls/ca-client.js';
import { createWorkloadKey } from '../../../proxy/tls/workload-key.js';
import { startCaServer, type TestCaServer } from '../../helpers/ca-server.js';
import { expiredWorkload, issueWorkload, testId, throwawayCa, throwawayRoot } from '../../helpers/throwaway-ca.js';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

let server: TestCaServer;
const web = testId('web');
const admin = testId('admin');

beforeAll(async () => {
  server = await startCaServer();
});
afterAll(() => server.close());

async function issue(credential: CaCredential, spiffeId: string, ttl?: number) {
  const key = await createWorkloadKey(spiffeId);
  return requestCertificate({
    endpoint: server.endpoint,
    trustBundlePems: server.ca.trustBundlePems,
    credential,
    csrPem: key.csrPem,
    ...(ttl === undefined ? {} : { requestedTtlSeconds: ttl }),
  });
}

function lastAudit() {
  return server.audit[server.audit.length - 1];
}

describe('CertificateIssuer over gRPC', () => {
  it('issues a leaf, chain and trust bundle for a CSR with a valid bootstrap token, and audits it', async () => {
    const token = await server.tokens.mint({ spiffeId: web });
    const response = await issue({ kind: 'token', token }, web, 300);
    const leaf = new X509Certificate(response.certificateChainPem[0] as string);
    expect(leaf.subjectAltName).toBe(`URI:${web}`);
    expect(Date.parse(leaf.validTo) - Date.now()).toBeLessThanOrEqual(300_000);
    expect(response.trustBundle).toEqual({ trustDomain: 'test.local', rootCertificatePem: [...server.ca.trustBundlePems] });
    expect(lastAudit()).toMatchObject({ event: 'certificate.issued', credential: 'bootstrap-token', spiffeId: web, serial: leaf.serialNumber });
  });

  it('refuses a CSR for another identity than the token is bound to: PERMISSION_DENIED + audit', async () => {
    const token = await server.tokens.mint({ spiffeId: web });
    await expect(issue({ kind: 'token', token }, admin)).rejects.toMatchObject({ grpcCode: status.PERMISSION_DENIED, message: expect.stringMatching(/IDENTITY_MISMATCH/) });
    expect(lastAudit()).toMatchObject({ event: 'certificate.refused', code: 'IDENTITY_MISMATCH', spiffeId: web });
  });

  it.each([
    ['expired', () => server.tokens.mint({ spiffeId: web, ttlMs: 60_000, now: Date.now() - 3600_000 }), 'TOKEN_EXPIRED'],
    ['wrongly signed', () => new BootstrapTokens(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).mint({ spiffeId: web }), 'TOKEN_BAD_SIGNATURE'],
    ['malformed', async () => 'garbage', 'TOKEN_MALFORMED'],
  ])('refuses an %s token with UNAUTHENTICATED and an audit line', async (_name, makeToken, code) => {
    const before = server.audit.length;
    await expect(issue({ kind: 'token', token: await makeToken() }, web)).rejects.toMatchObject({ grpcCode: status.UNAUTHENTICATED, message: expect.stringContaining(code) });
    expect(server.audit.length).toBe(before + 1);
    expect(lastAudit()).toMatchObject({ event: 'certificate.refused', code, credential: 'bootstrap-token' });
  });

  it('refuses a caller with no credential', async () => {
    await expect(issue({ kind: 'token', token: '' }, web)).rejects.toMatchObject({ grpcCode: status.UNAUTHENTICATED, message: expect.stringMatching(/CREDENTIAL_MISSING/) });
    expect(lastAudit()).toMatchObject({ code: 'CREDENTIAL_MISSING', credential: 'none' });
  });

  it('renews over mTLS with the current certificate, for the same identity only', async () => {
    const current = await issueWorkload(server.ca, web);
    const credential: CaCredential = { kind: 'certificate', privateKeyPem: current.privateKeyPem, chainPems: current.chainPems };
    const renewed = await issue(credential, web);
    expect(new X509Certificate(renewed.certificateChainPem[0] as string).subjectAltName).toBe(`URI:${web}`);
    expect(lastAudit()).toMatchObject({ event: 'certificate.issued', credential: 'certificate', spiffeId: web });
    await expect(issue(credential, admin)).rejects.toMatchObject({ grpcCode: status.PERMISSION_DENIED });
    expect(lastAudit()).toMatchObject({ code: 'IDENTITY_MISMATCH', credential: 'certificate' });
  });

  it('does not accept a client certificate from a foreign CA or an expired one as a credential', async () => {
    const foreign = throwawayCa();
    const fromForeign = await issueWorkload(foreign.ca, web);
    await expect(issue({ kind: 'certificate', privateKeyPem: fromForeign.privateKeyPem, chainPems: fromForeign.chainPems }, web)).rejects.toMatchObject({ grpcCode: status.UNAUTHENTICATED });
    expect(lastAudit()).toMatchObject({ code: 'CREDENTIAL_MISSING' });
  });

  it('is refused by the client when the server does not present the expected SPIFFE ID', async () => {
    const token = await server.tokens.mint({ spiffeId: web });
    const key = await createWorkloadKey(web);
    const before = server.audit.length;
    await expect(
      requestCertificate({ endpoint: { ...server.endpoint, serverSpiffeId: testId('impostor') }, trustBundlePems: server.ca.trustBundlePems, credential: { kind: 'token', token }, csrPem: key.csrPem }),
    ).rejects.toMatchObject({ grpcCode: status.UNAVAILABLE });
    expect(server.audit.length).toBe(before);
  });

  it('serves the trust bundle', async () => {
    const token = await server.tokens.mint({ spiffeId: web });
    const bundle = await fetchTrustBundle({ endpoint: server.endpoint, trustBundlePems: server.ca.trustBundlePems, credential: { kind: 'token', token } });
    expect(bundle.rootCertificatePem).toEqual([...server.ca.trustBundlePems]);
  });
});

describe('expired client certificate', () => {
  it('is no credential for renewal, even from this CA', async () => {
    const root = { certificatePem: server.ca.trustBundlePems[0] as string, privateKeyPem: await readFile(join(server.stateDir, 'ca', 'ca-key.pem'), 'utf8') };
    const expired = await expiredWorkload(root, web);
    await expect(issue({ kind: 'certificate', privateKeyPem: expired.privateKeyPem, chainPems: expired.chainPems }, web)).rejects.toMatchObject({ grpcCode: status.UNAUTHENTICATED });
    expect(lastAudit()).toMatchObject({ code: 'CREDENTIAL_MISSING' });
  });
});

describe('root rotation on the issuing port', () => {
  it('serves from the new root once the CA switches, so sidecars that trust only the new root still reach it', async () => {
    const rotating = await startCaServer();
    try {
      const oldRoot = rotating.ca.trustBundlePems[0] as string;
      const newRoot = throwawayRoot('next root');
      rotating.ca.addRoot(newRoot.certificatePem);
      rotating.ca.useSigning(newRoot);
      rotating.ca.removeRoot(oldRoot);
      const key = await createWorkloadKey(web);
      const response = await requestCertificate({
        endpoint: rotating.endpoint,
        trustBundlePems: [newRoot.certificatePem],
        credential: { kind: 'token', token: await rotating.tokens.mint({ spiffeId: web }) },
        csrPem: key.csrPem,
      });
      expect(response.trustBundle.rootCertificatePem).toEqual([newRoot.certificatePem]);
      expect(new X509Certificate(response.certificateChainPem[0] as string).verify(new X509Certificate(newRoot.certificatePem).publicKey)).toBe(true);
    } finally {
      await rotating.close();
    }
  });
});
