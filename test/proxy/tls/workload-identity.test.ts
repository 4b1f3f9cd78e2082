import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import { createCertificateIssuerClient, type IssueCertificateResponse } from '../../../control-plane/api/ca-contract.js';
import { backoffDelay } from '../../../proxy/tls/backoff.js';
import { createWorkloadKey } from '../../../proxy/tls/workload-key.js';
import { followIdentity, inboundTlsOptions, outboundTlsOptions } from '../../../proxy/tls/mesh-tls.js';
import { WorkloadIdentity } from '../../../proxy/tls/workload-identity.js';
import { startCaServer, startWorkloadIdentity, type TestCaServer } from '../../helpers/ca-server.js';
import { testId } from '../../helpers/throwaway-ca.js';

let server: TestCaServer;
const identities: WorkloadIdentity[] = [];
beforeAll(async () => {
  server = await startCaServer();
});
afterAll(async () => {
  for (const identity of identities) identity.stop();
  await server.close();
});

async function started(name: string, options: Parameters<typeof startWorkloadIdentity>[2] = {}) {
  const identity = await startWorkloadIdentity(server, testId(name), options);
  identities.push(identity);
  return identity;
}

function nextUpdate(identity: WorkloadIdentity) {
  return once(identity, 'updated').then(([snapshot]) => snapshot as WorkloadIdentity['current']);
}

describe('WorkloadIdentity', () => {
  it('obtains its first certificate with the bootstrap token and keeps the key to itself', async () => {
    const identity = await started('first');
    const { leaf, generation, privateKeyPem, trustBundlePems } = identity.current;
    expect(leaf.subjectAltName).toBe(`URI:${testId('first')}`);
    expect(generation).toBe(1);
    expect(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(privateKeyPem))).toBe(true);
    expect(trustBundlePems).toEqual(server.ca.trustBundlePems);
    expect(server.audit.find((entry) => entry.spiffeId === testId('first'))).toMatchObject({ credential: 'bootstrap-token' });
    expect(JSON.stringify(server.audit)).not.toContain('PRIVATE KEY');
  });

  it('plans renewal between 40% and 50% of the remaining lifetime by default', async () => {
    const identity = await started('plan', { requestedTtlSeconds: 600 });
    const remaining = identity.current.notAfter.getTime() - Date.now();
    const due = (identity.nextRenewalAt as Date).getTime() - Date.now();
    expect(due).toBeGreaterThan(remaining * 0.4 - 1000);
    expect(due).toBeLessThanOrEqual(remaining * 0.5);
  });

  it('renews over mTLS with a new key before expiry', async () => {
    const identity = await started('renew', { requestedTtlSeconds: 60, renewAtFraction: 0.05, jitterFraction: 0.01 });
    const first = identity.current;
    const second = await nextUpdate(identity);
    expect(second.generation).toBe(2);
    expect(second.leaf.serialNumber).not.toBe(first.leaf.serialNumber);
    expect(second.privateKeyPem).not.toBe(first.privateKeyPem);
    const renewal = server.audit.filter((entry) => entry.spiffeId === testId('renew') && entry.event === 'certificate.issued');
    expect(renewal.map((entry) => entry.credential)).toEqual(['bootstrap-token', 'certificate']);
  });

  it('keeps its certificate while the CA is down, retries with backoff, and renews when it is back', async () => {
    const identity = await started('outage', { requestedTtlSeconds: 60, renewAtFraction: 0.05, jitterFraction: 0, backoff: { initialMs: 200, maxMs: 800 } });
    const held = identity.current;
    server.pause();
    const failures: number[] = [];
    identity.on('renewalFailed', (_error, { retryInMs }) => failures.push(retryInMs));
    try {
      while (failures.length < 3) await once(identity, 'renewalFailed');
      expect(identity.current).toBe(held);
      expect(failures[0]).toBeGreaterThanOrEqual(100);
      expect(failures[0]).toBeLessThanOrEqual(200);
      expect(failures[2]).toBeGreaterThanOrEqual(400);
      expect(failures[2]).toBeLessThanOrEqual(800);
    } finally {
      await server.resume();
    }
    const renewed = await nextUpdate(identity);
    expect(renewed.generation).toBe(2);
  });

  it('gives gRPC credentials for other control-plane services, proven by its certificate', async () => {
    const identity = await started('discovery');
    const client = createCertificateIssuerClient(server.endpoint.address, identity.controlPlaneCredentials(), { 'grpc.ssl_target_name_override': 'weft-control-plane' });
    const key = await createWorkloadKey(testId('discovery'));
    const response = await new Promise<IssueCertificateResponse>((resolve, reject) =>
      client.IssueCertificate({ csrPem: key.csrPem, bootstrapToken: '', requestedTtlSeconds: 0 }, new Metadata(), {}, (error, value) => (error ? reject(error) : resolve(value as IssueCertificateResponse))),
    );
    client.close();
    expect(response.certificateChainPem).toHaveLength(1);
    expect(server.audit.at(-1)).toMatchObject({ credential: 'certificate', spiffeId: testId('discovery') });
  });

  it('refuses to start without a trust bundle or with a malformed ID', () => {
    expect(() => new WorkloadIdentity({ spiffeId: testId('x'), ca: server.endpoint, trustBundlePems: [], bootstrapToken: 't' })).toThrow(/trust bundle/);
    expect(() => new WorkloadIdentity({ spiffeId: 'spiffe://test.local/ns/../sa/x', ca: server.endpoint, trustBundlePems: ['x'], bootstrapToken: 't' })).toThrow(/relative/);
  });

  it('keeps retrying a refused token and rejects start() when stopped', async () => {
    const identity = new WorkloadIdentity({ spiffeId: testId('refused'), ca: server.endpoint, trustBundlePems: server.ca.trustBundlePems, bootstrapToken: 'garbage', backoff: { initialMs: 50, maxMs: 100 } });
    const starting = identity.start();
    const [error] = (await once(identity, 'renewalFailed')) as [Error];
    expect(error.message).toMatch(/UNAUTHENTICATED.*TOKEN_MALFORMED/);
    identity.stop();
    await expect(starting).rejects.toThrow(/stopped before/);
  });
});

describe('backoffDelay', () => {
  it('doubles a window up to the maximum and draws from its upper half', () => {
    expect(backoffDelay(0, { initialMs: 100, maxMs: 1000 }, () => 0)).toBe(50);
    expect(backoffDelay(0, { initialMs: 100, maxMs: 1000 }, () => 1)).toBe(100);
    expect(backoffDelay(3, { initialMs: 100, maxMs: 1000 }, () => 1)).toBe(800);
    expect(backoffDelay(10, { initialMs: 100, maxMs: 1000 }, () => 1)).toBe(1000);
  });
});

describe('certificate rotation on live TLS servers', () => {
  it('serves new connections with the new certificate while an established one stays open', async () => {
    const serverIdentity = await started('rotating-server', { requestedTtlSeconds: 60, renewAtFraction: 0.05, jitterFraction: 0.01 });
    const clientIdentity = await started('rotating-client');
    const tlsServer = createServer(inboundTlsOptions(serverIdentity), (socket) => socket.pipe(socket));
    const unfollow = followIdentity(tlsServer, serverIdentity);
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const port = (tlsServer.address() as AddressInfo).port;
    const open = async (): Promise<TLSSocket> => {
      const socket = connect({ host: '127.0.0.1', port, ...outboundTlsOptions(clientIdentity, testId('rotating-server')) });
      await once(socket, 'secureConnect');
      return socket;
    };
    try {
      const early = await open();
      const firstSerial = early.getPeerCertificate().serialNumber;
      await nextUpdate(serverIdentity);
      const late = await open();
      expect(late.getPeerCertificate().serialNumber).toBe(serverIdentity.current.leaf.serialNumber);
      expect(late.getPeerCertificate().serialNumber).not.toBe(firstSerial);
      early.write('still here');
      const [echo] = (await once(early, 'data')) as [Buffer];
      expect(echo.toString()).toBe('still here');
      early.destroy();
      late.destroy();
    } finally {
      unfollow();
      tlsServer.close();
    }
  });
});
