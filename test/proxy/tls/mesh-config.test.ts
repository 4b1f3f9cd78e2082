// The identity part of the sidecar config, and `weft proxy` bootstrapping its identity from files.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../proxy/config/load-config.js';
import { inboundMode } from '../../../proxy/tls/mesh-security.js';
import { startCaServer, type TestCaServer } from '../../helpers/ca-server.js';
import { request } from '../../helpers/http-client.js';
import { spawnSidecar, testConfig } from '../../helpers/sidecar.js';
import { testId } from '../../helpers/throwaway-ca.js';

const identity = { trustDomain: 'test.local', ca: { address: '127.0.0.1:1', trustBundleFile: '/nonexistent' } };
const cluster = { name: 'b', hosts: ['b'], endpoints: [{ address: '127.0.0.1', port: 1 }] };

describe('identity config', () => {
  it('defaults inbound mTLS to STRICT with an identity and DISABLE without', () => {
    expect(inboundMode(validateConfig(testConfig({ identity, inbound: { port: 0, appPort: 1 } })))).toBe('STRICT');
    expect(inboundMode(validateConfig(testConfig({ inbound: { port: 0, appPort: 1 } })))).toBe('DISABLE');
  });

  it('reports every identity problem at once, with paths', () => {
    let message = '';
    try {
      validateConfig(
        testConfig({
          inbound: { port: 0, appPort: 1, mtls: 'PERMISSIVE' },
          outbound: { port: 0, clusters: [{ ...cluster, spiffeId: 'spiffe://test.local/ns/../sa/x' }, { ...cluster, name: 'c', hosts: ['c'], spiffeId: testId('c') }] },
        }),
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('inbound.mtls: PERMISSIVE needs an identity section');
    expect(message).toContain('outbound.clusters[0].spiffeId: invalid SPIFFE ID');
    expect(message).toContain('outbound.clusters[1].spiffeId: mTLS to the cluster needs an identity section');
    expect(() => validateConfig(testConfig({ inbound: { port: 0, appPort: 1, mtls: 'LOOSE' } }))).toThrow(/inbound.mtls: expected one of STRICT, PERMISSIVE, DISABLE/);
    expect(() => validateConfig(testConfig({ workload: 'web', identity: { ...identity, trustDomain: 'Bad_Domain' }, inbound: { port: 0, appPort: 1 } }))).toThrow(/identity: invalid SPIFFE ID/);
  });
});

describe('weft proxy with an identity section', () => {
  let ca: TestCaServer;
  let dir: string;
  beforeAll(async () => {
    ca = await startCaServer();
    dir = await mkdtemp(join(tmpdir(), 'weft-proxy-identity-'));
    await writeFile(join(dir, 'root-cert.pem'), ca.ca.trustBundlePems.join(''));
  });
  afterAll(async () => {
    await ca.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('bootstraps with the token file, serves /certs, and drains on SIGTERM', async () => {
    await writeFile(join(dir, 'token'), `${await ca.tokens.mint({ spiffeId: testId('web') })}\n`);
    const sidecar = await spawnSidecar({
      workload: 'web',
      identity: { trustDomain: 'test.local', ca: { address: ca.endpoint.address, trustBundleFile: join(dir, 'root-cert.pem') }, bootstrapTokenFile: join(dir, 'token') },
      inbound: { port: 0, appPort: 1 },
    });
    try {
      const certs = JSON.parse((await request(sidecar.adminPort, { path: '/certs' })).body) as { spiffeId: string };
      expect(certs.spiffeId).toBe(testId('web'));
      expect(sidecar.stderr()).toContain(`for ${testId('web')} until`);
    } finally {
      expect(await sidecar.terminate()).toBe(0);
    }
  });

  it('exits 2 with a clear message when there is no bootstrap token', async () => {
    await expect(
      spawnSidecar({
        workload: 'web',
        identity: { trustDomain: 'test.local', ca: { address: ca.endpoint.address, trustBundleFile: join(dir, 'root-cert.pem') } },
        inbound: { port: 0, appPort: 1 },
      }),
    ).rejects.toThrow(/exited with 2:.*no bootstrap token/s);
  });
});
