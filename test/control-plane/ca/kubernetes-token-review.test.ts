import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kubernetesTokenReview, type KubernetesTokenReview } from '../../../control-plane/ca/index.js';
import { loadKubeConfig } from '../../../control-plane/cli/kube-config.js';
import { requestCertificate } from '../../../proxy/tls/ca-client.js';
import { createWorkloadKey } from '../../../proxy/tls/workload-key.js';
import { startCaServer, type TestCaServer } from '../../helpers/ca-server.js';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/fake-kube-apiserver.js';
import { TEST_TRUST_DOMAIN, testId } from '../../helpers/throwaway-ca.js';

let api: FakeApiServer;
let server: TestCaServer;
let dir: string;
/** The verifier's clock; each test presents tokens of its own, so none was reviewed before. */
let clock = Date.now();
let review: KubernetesTokenReview;
const shopWeb = `spiffe://${TEST_TRUST_DOMAIN}/ns/shop/sa/web`;

beforeAll(async () => {
  api = await startFakeApiServer();
  server = await startCaServer();
  dir = await mkdtemp(join(tmpdir(), 'weft-token-review-'));
  await writeFile(join(dir, 'kubeconfig'), api.kubeconfig());
  review = await kubernetesTokenReview(await loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig') }), { trustDomain: TEST_TRUST_DOMAIN, now: () => clock });
  server.verifiers.register(review);
});
afterAll(async () => {
  await server.close();
  await api.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  api.failTokenReviews(undefined);
  api.answerTokenReviews(undefined);
});

async function issue(token: string, spiffeId: string) {
  const key = await createWorkloadKey(spiffeId);
  return requestCertificate({ endpoint: server.endpoint, trustBundlePems: server.ca.trustBundlePems, credential: { kind: 'token', token }, csrPem: key.csrPem });
}

const reviews = () => api.requests.filter((request) => request === 'POST /apis/authentication.k8s.io/v1/tokenreviews').length;
const lastAudit = () => server.audit[server.audit.length - 1];

describe('Kubernetes service-account tokens at the CA (TokenReview)', () => {
  it('issues the certificate of the reviewed service account, and audits the token by its credential id', async () => {
    const before = reviews();
    const response = await issue(api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web' }), shopWeb);
    expect(new X509Certificate(response.certificateChainPem[0]!).subjectAltName).toBe(`URI:${shopWeb}`);
    expect(reviews()).toBe(before + 1);
    expect(lastAudit()).toMatchObject({ event: 'certificate.issued', credential: 'kubernetes-token', spiffeId: shopWeb, tokenId: expect.stringMatching(/^JTI=/) });
  });

  it('refuses a CSR for any other identity than the reviewed one', async () => {
    const token = api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web' });
    await expect(issue(token, `spiffe://${TEST_TRUST_DOMAIN}/ns/shop/sa/admin`)).rejects.toMatchObject({ grpcCode: status.PERMISSION_DENIED, message: expect.stringContaining('IDENTITY_MISMATCH') });
    await expect(issue(token, `spiffe://${TEST_TRUST_DOMAIN}/ns/other/sa/web`)).rejects.toMatchObject({ message: expect.stringContaining('IDENTITY_MISMATCH') });
    expect(lastAudit()).toMatchObject({ event: 'certificate.refused', credential: 'kubernetes-token', spiffeId: shopWeb, code: 'IDENTITY_MISMATCH' });
  });

  it('keeps a positive review for a short while, by the token, and asks again after it', async () => {
    const token = api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web' });
    const before = reviews();
    await issue(token, shopWeb);
    clock += 29_000;
    // The token is reusable: a restarted sidecar presents it again.
    await issue(token, shopWeb);
    expect(reviews()).toBe(before + 1);
    clock += 2_000;
    await issue(token, shopWeb);
    expect(reviews()).toBe(before + 2);
    await issue(api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web' }), shopWeb);
    expect(reviews()).toBe(before + 3);
  });

  it('keeps no review past the expiry of its token', async () => {
    const token = api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web', expiresInS: 20 });
    const before = reviews();
    await issue(token, shopWeb);
    clock += 21_000;
    // The fake API server's own clock has not moved: it still authenticates the token.
    await issue(token, shopWeb);
    expect(reviews()).toBe(before + 2);
  });

  it.each([
    ['for another audience (the API server does not authenticate it for weft-ca)', () => api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web', audiences: ['https://kubernetes.default.svc'] }), 'TOKEN_NOT_AUTHENTICATED', status.UNAUTHENTICATED, 'is invalid for the target audiences'],
    ['expired', () => api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web', expiresInS: -10 }), 'TOKEN_NOT_AUTHENTICATED', status.UNAUTHENTICATED, 'has expired'],
    ['unknown to the API server', () => 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2hvcDp3ZWIifQ.c2ln', 'TOKEN_NOT_AUTHENTICATED', status.UNAUTHENTICATED, 'invalid bearer token'],
    ["of a user who is no service account", () => api.userToken('jane@example.com'), 'TOKEN_NOT_SERVICE_ACCOUNT', status.PERMISSION_DENIED, 'jane@example.com'],
    ["of a service account in the control plane's namespace", () => api.serviceAccountToken({ namespace: 'weft-system', serviceAccount: 'web' }), 'IDENTITY_RESERVED', status.PERMISSION_DENIED, 'weft-system'],
  ])('refuses a token %s, and does not keep the refusal', async (_name, token, code, grpcCode, detail) => {
    const presented = token();
    const before = reviews();
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(issue(presented, shopWeb)).rejects.toMatchObject({ grpcCode, message: expect.stringMatching(new RegExp(`${code}.*${detail.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)) });
    }
    expect(reviews()).toBe(before + 2);
    expect(lastAudit()).toMatchObject({ event: 'certificate.refused', credential: 'kubernetes-token', code });
  });

  it('refuses a token the API server authenticates without the audience weft-ca (an authenticator that ignores audiences)', async () => {
    api.answerTokenReviews({ authenticated: true, audiences: [], user: { username: 'system:serviceaccount:shop:web' } });
    await expect(issue(api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web' }), shopWeb)).rejects.toMatchObject({ grpcCode: status.UNAUTHENTICATED, message: expect.stringContaining('TOKEN_WRONG_AUDIENCE') });
  });

  it.each([
    [403, 'HTTP 403: tokenreviews.authentication.k8s.io is forbidden'],
    [500, 'HTTP 500: Internal error occurred: etcdserver: request timed out'],
  ])('fails closed when the API server answers a review with HTTP %i: TOKEN_REVIEW_FAILED, UNAVAILABLE', async (code, detail) => {
    api.failTokenReviews(code);
    await expect(issue(api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web' }), shopWeb)).rejects.toMatchObject({ grpcCode: status.UNAVAILABLE, message: expect.stringContaining('TOKEN_REVIEW_FAILED') });
    expect(lastAudit()).toMatchObject({ code: 'TOKEN_REVIEW_FAILED', reason: expect.stringContaining(detail) });
  });

  it('fails closed when the API server cannot be reached', async () => {
    const gone = await startFakeApiServer();
    await writeFile(join(dir, 'gone'), gone.kubeconfig());
    await gone.close();
    const unreachable = await kubernetesTokenReview(await loadKubeConfig({ kubeconfig: join(dir, 'gone') }), { trustDomain: TEST_TRUST_DOMAIN });
    await expect(unreachable.verify(api.serviceAccountToken({ namespace: 'shop', serviceAccount: 'web' }))).rejects.toMatchObject({ code: 'TOKEN_REVIEW_FAILED' });
  });

  it("still checks weft's own bootstrap tokens itself, never sending them to the API server", async () => {
    const before = reviews();
    const web = testId('web');
    await issue(await server.tokens.mint({ spiffeId: web }), web);
    expect(lastAudit()).toMatchObject({ event: 'certificate.issued', credential: 'bootstrap-token', spiffeId: web });
    await expect(issue(await server.tokens.mint({ spiffeId: web, ttlMs: 60_000, now: Date.now() - 3600_000 }), web)).rejects.toMatchObject({ message: expect.stringContaining('TOKEN_EXPIRED') });
    expect(reviews()).toBe(before);
  });
});
