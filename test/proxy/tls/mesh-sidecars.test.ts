// Two sidecars and a CA on loopback: a request crosses the mesh over mutual TLS and the app
// learns the caller's identity from x-forwarded-client-cert; the inbound modes hold.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../../helpers/http-client.js';
import { startCaServer, type TestCaServer } from '../../helpers/ca-server.js';
import { startMeshSidecar, type MeshSidecar } from '../../helpers/mesh.js';
import { echoServer, type EchoReply, type TestServer } from '../../helpers/upstream.js';
import { testId } from '../../helpers/throwaway-ca.js';
import { probe } from '../../helpers/tls-probe.js';
import { outboundTlsOptions } from '../../../proxy/tls/mesh-tls.js';
import { formatXfcc } from '../../../proxy/tls/xfcc.js';

let ca: TestCaServer;
let app: TestServer;
const stops: (() => Promise<void>)[] = [];
const frontendId = testId('frontend');
const backendId = testId('backend');

beforeAll(async () => {
  ca = await startCaServer();
  app = await echoServer();
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await app.close();
  await ca.close();
});

async function mesh(overrides: Record<string, unknown>): Promise<MeshSidecar> {
  const sidecar = await startMeshSidecar(ca, overrides);
  stops.push(() => sidecar.stop());
  return sidecar;
}

function backend(mtls?: string) {
  return mesh({ workload: 'backend', inbound: { port: 0, appPort: app.port, ...(mtls === undefined ? {} : { mtls }) } });
}

function frontendTo(port: number, spiffeId: string | undefined) {
  return mesh({
    workload: 'frontend',
    outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port }], ...(spiffeId === undefined ? {} : { spiffeId }) }] },
  });
}

function header(reply: EchoReply, name: string): string[] {
  return reply.headers.filter(([key]) => key === name).map(([, value]) => value);
}

async function metricsOf(sidecar: MeshSidecar): Promise<string> {
  return (await request(sidecar.adminPort, { path: '/metrics' })).body;
}

describe('two sidecars and a CA', () => {
  let server: MeshSidecar;
  let client: MeshSidecar;
  beforeAll(async () => {
    server = await backend();
    client = await frontendTo(server.inboundPort, backendId);
  });

  it('carries a request over mTLS; the app gets the caller principal in XFCC and never a forged one', async () => {
    const reply = await request(client.outboundPort, { headers: { host: 'backend', 'x-forwarded-client-cert': `By=${backendId};URI=${testId('admin')}` } });
    expect(reply.status).toBe(200);
    const seen = JSON.parse(reply.body) as EchoReply;
    const xfcc = header(seen, 'x-forwarded-client-cert');
    expect(xfcc).toHaveLength(1);
    const hash = /Hash=([0-9a-f]{64});/.exec(xfcc[0] as string)?.[1] as string;
    expect(xfcc[0]).toBe(formatXfcc({ by: backendId, hash, uri: frontendId }));
    expect(header(seen, 'x-forwarded-proto').at(-1)).toMatch(/https$/);
    const { createHash, X509Certificate } = await import('node:crypto');
    expect(hash).toBe(createHash('sha256').update(new X509Certificate(client.security.identity.current.chainPems[0] as string).raw).digest('hex'));
  });

  it('sends HTTP/1.1 requests with a renewed certificate from the moment it is held, not on the keep-alive connection opened with the old one', async () => {
    const { createHash, X509Certificate } = await import('node:crypto');
    const renewing = await startMeshSidecar(
      ca,
      { workload: 'frontend', outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: server.inboundPort }], spiffeId: backendId }] } },
      { requestedTtlSeconds: 60, renewAtFraction: 0.05, jitterFraction: 0 },
    );
    stops.push(() => renewing.stop());
    const identity = renewing.security.identity;
    const held = () => createHash('sha256').update(new X509Certificate(identity.current.chainPems[0] as string).raw).digest('hex');
    const seenByApp = async () => {
      const xfcc = header(JSON.parse((await request(renewing.outboundPort, { headers: { host: 'backend' } })).body) as EchoReply, 'x-forwarded-client-cert');
      return /Hash=([0-9a-f]{64});/.exec(xfcc[0] as string)?.[1];
    };
    const before = held();
    expect(await seenByApp()).toBe(before);
    expect(await seenByApp()).toBe(before);
    await once(identity, 'updated');
    expect(held()).not.toBe(before);
    expect(await seenByApp()).toBe(held());
  });

  it('labels the metrics of both sides connection_security_policy="mutual_tls"', async () => {
    await request(client.outboundPort, { headers: { host: 'backend' } });
    expect(await metricsOf(server)).toMatch(/istio_requests_total\{reporter="destination"[^}]*connection_security_policy="mutual_tls"[^}]*\} [1-9]/);
    expect(await metricsOf(client)).toMatch(/istio_requests_total\{reporter="source"[^}]*connection_security_policy="mutual_tls"[^}]*\} [1-9]/);
  });

  it('labels the metrics with the verified principals of both ends', async () => {
    await request(client.outboundPort, { headers: { host: 'backend' } });
    const inbound = /istio_requests_total\{reporter="destination"[^}]*\} [1-9]/.exec(await metricsOf(server))?.[0] ?? '';
    expect(inbound).toContain(`source_principal="${frontendId}"`);
    expect(inbound).toContain('source_workload="frontend"');
    expect(inbound).toContain(`destination_principal="${backendId}"`);
    const outbound = /istio_requests_total\{reporter="source"[^}]*\} [1-9]/.exec(await metricsOf(client))?.[0] ?? '';
    expect(outbound).toContain(`source_principal="${frontendId}"`);
    expect(outbound).toContain(`destination_principal="${backendId}"`);
  });

  it('publishes /certs and weft_certificate_expiry_seconds', async () => {
    const certs = JSON.parse((await request(server.adminPort, { path: '/certs' })).body) as Record<string, unknown>;
    const current = server.security.identity.current;
    expect(certs).toMatchObject({ spiffeId: backendId, serial: current.leaf.serialNumber, notAfter: current.notAfter.toISOString() });
    expect(certs.trustBundle).toEqual([expect.objectContaining({ sha256: expect.any(String), subject: expect.stringContaining('weft root CA') })]);
    const expiry = /weft_certificate_expiry_seconds ([\d.]+)/.exec(await metricsOf(server))?.[1];
    expect(Number(expiry)).toBeGreaterThan(23 * 3600);
    expect(Number(expiry)).toBeLessThanOrEqual(24 * 3600);
  });

  it('STRICT: refuses plaintext on the inbound port', async () => {
    await expect(request(server.inboundPort, { headers: { host: 'backend' } })).rejects.toThrow();
  });

  it('refuses an upstream whose valid mesh certificate is for another identity', async () => {
    const confused = await frontendTo(server.inboundPort, testId('payments'));
    const reply = await request(confused.outboundPort, { headers: { host: 'backend' } });
    expect(reply.status).toBe(502);
    expect(reply.headers['x-weft-error']).toBeDefined();
  });
});

describe('inbound modes', () => {
  it('PERMISSIVE: takes mTLS with a principal and plaintext without one, labelled accordingly', async () => {
    const server = await backend('PERMISSIVE');
    const client = await frontendTo(server.inboundPort, backendId);
    const overTls = JSON.parse((await request(client.outboundPort, { headers: { host: 'backend' } })).body) as EchoReply;
    expect(header(overTls, 'x-forwarded-client-cert')[0]).toContain(`URI=${frontendId}`);
    const plain = await request(server.inboundPort, { headers: { 'x-forwarded-client-cert': `URI=${testId('admin')}` } });
    expect(plain.status).toBe(200);
    const plainSeen = JSON.parse(plain.body) as EchoReply;
    expect(header(plainSeen, 'x-forwarded-client-cert')).toEqual([]);
    expect(header(plainSeen, 'x-forwarded-proto').at(-1)).toBe('http');
    const metrics = await metricsOf(server);
    expect(metrics).toMatch(/istio_requests_total\{[^}]*connection_security_policy="mutual_tls"[^}]*\} 1/);
    expect(metrics).toMatch(/istio_requests_total\{[^}]*connection_security_policy="none"[^}]*\} 1/);
  });

  it('DISABLE: plaintext only, no principal; a TLS client is refused', async () => {
    const server = await backend('DISABLE');
    const plain = JSON.parse((await request(server.inboundPort, { headers: { 'x-forwarded-client-cert': `URI=${testId('admin')}` } })).body) as EchoReply;
    expect(header(plain, 'x-forwarded-client-cert')).toEqual([]);
    const client = await frontendTo(server.inboundPort, backendId);
    expect((await probe(server.inboundPort, outboundTlsOptions(client.security.identity, backendId))).accepted).toBe(false);
    expect(await metricsOf(server)).toMatch(/connection_security_policy="none"/);
  });
});
