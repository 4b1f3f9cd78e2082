// The control plane's namespace (weft-system) is reserved: no token and no certificate is issued
// in it, and sidecars take a certificate as the control plane's only when it names it.
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneSpiffeId } from '../../../control-plane/api/ca-contract.js';
import { parseWorkloadId } from '../../../control-plane/api/spiffe-id.js';
import { BootstrapTokens, TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../../control-plane/ca/bootstrap-token.js';
import { forgePublicKey } from '../../../control-plane/ca/certificate-builder.js';
import { addCertificateIssuer } from '../../../control-plane/ca/index.js';
import { validateConfig } from '../../../proxy/config/load-config.js';
import { requestCertificate } from '../../../proxy/tls/ca-client.js';
import { createWorkloadKey } from '../../../proxy/tls/workload-key.js';
import { startCaServer, type TestCaServer } from '../../helpers/ca-server.js';
import { testConfig } from '../../helpers/sidecar.js';
import { issueWorkload, testId, TEST_TRUST_DOMAIN } from '../../helpers/throwaway-ca.js';
import { runWeft } from '../../helpers/weft-cli.js';

let server: TestCaServer;
const controlPlaneId = controlPlaneSpiffeId(TEST_TRUST_DOMAIN);
const otherInNamespace = testId('dashboard', 'weft-system');

beforeAll(async () => {
  server = await startCaServer();
});
afterAll(() => server.close());

describe('reserved identities', () => {
  it('mints no bootstrap token in the control plane namespace, and `weft token create` says why', async () => {
    for (const spiffeId of [controlPlaneId, otherInNamespace]) {
      await expect(server.tokens.mint({ spiffeId })).rejects.toMatchObject({ code: 'IDENTITY_RESERVED' });
    }
    const state = await mkdtemp(join(tmpdir(), 'weft-token-'));
    const refused = await runWeft(['token', 'create', '--workload', 'weft-control-plane', '--namespace', 'weft-system', '--state-dir', state]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("IDENTITY_RESERVED: spiffe://cluster.local/ns/weft-system/sa/weft-control-plane is in the control plane's namespace weft-system");
    expect(refused.stdout).toBe('');
  });

  it('accepts no token for the namespace, even one signed with the token key', async () => {
    const privateKey = createPrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const tokens = new BootstrapTokens(privateKey);
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(controlPlaneId)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    await expect(tokens.verify(forged)).rejects.toMatchObject({ code: 'IDENTITY_RESERVED' });
  });

  it("issues no certificate for the namespace, not even to a caller holding the control plane's own certificate", async () => {
    const key = await createWorkloadKey(controlPlaneId);
    expect(() => server.ca.issueForCsr(key.csrPem, controlPlaneId)).toThrow(/IDENTITY_RESERVED/);
    // The control plane's serving certificate (issued inside, by key) used to renew itself.
    const serving = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const issued = server.ca.issueForKey(forgePublicKey(serving), parseWorkloadId(controlPlaneId));
    const credential = { kind: 'certificate' as const, privateKeyPem: serving.export({ type: 'pkcs8', format: 'pem' }).toString(), chainPems: issued.chainPems };
    await expect(requestCertificate({ endpoint: server.endpoint, trustBundlePems: server.ca.trustBundlePems, credential, csrPem: key.csrPem })).rejects.toMatchObject({
      grpcCode: grpc.status.PERMISSION_DENIED,
      message: expect.stringContaining('IDENTITY_RESERVED'),
    });
    expect(server.audit.at(-1)).toMatchObject({ event: 'certificate.refused', credential: 'certificate', spiffeId: controlPlaneId, code: 'IDENTITY_RESERVED' });
  });

  it('a sidecar does not take a workload certificate for the control plane, even when configured to', async () => {
    // A CA server that serves with a workload's certificate from the same CA.
    const impostorId = testId('impostor');
    const impostor = await issueWorkload(server.ca, impostorId);
    const fake = new grpc.Server();
    addCertificateIssuer(fake, server, () => undefined);
    const credentials = grpc.ServerCredentials.createSsl(Buffer.from(server.ca.trustBundlePems.join('')), [{ cert_chain: Buffer.from(impostor.chainPems.join('')), private_key: Buffer.from(impostor.privateKeyPem) }], false);
    const port = await new Promise<number>((resolve, reject) => fake.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
    try {
      const key = await createWorkloadKey(testId('web'));
      const token = await server.tokens.mint({ spiffeId: testId('web') });
      await expect(
        requestCertificate({ endpoint: { address: `127.0.0.1:${port}`, serverSpiffeId: impostorId }, trustBundlePems: server.ca.trustBundlePems, credential: { kind: 'token', token }, csrPem: key.csrPem }),
      ).rejects.toMatchObject({ grpcCode: grpc.status.UNAVAILABLE });
    } finally {
      fake.forceShutdown();
    }
    const identity = { trustDomain: TEST_TRUST_DOMAIN, ca: { address: '127.0.0.1:1', trustBundleFile: '/nonexistent', serverSpiffeId: impostorId } };
    expect(() => validateConfig(testConfig({ identity, inbound: { port: 0, appPort: 1 } }))).toThrow(
      `identity.ca.serverSpiffeId: ${impostorId} is not an identity of the control plane (spiffe://test.local/ns/weft-system/sa/...)`,
    );
    const elsewhere = { ...identity, ca: { ...identity.ca, serverSpiffeId: 'spiffe://elsewhere/ns/weft-system/sa/weft-control-plane' } };
    expect(() => validateConfig(testConfig({ identity: elsewhere, inbound: { port: 0, appPort: 1 } }))).toThrow(/is not an identity of the control plane/);
    expect(() => validateConfig(testConfig({ identity: { ...identity, ca: { ...identity.ca, serverSpiffeId: controlPlaneId } }, inbound: { port: 0, appPort: 1 } }))).not.toThrow();
  });
});
