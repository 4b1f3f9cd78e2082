// Headers a caller forges to pass for the sidecar's own: `x-forwarded-proto` is the sidecar's
// word on the caller's hop, never appended to; a name that differs from one the sidecar sets
// only by `_` for `-` (which CGI, WSGI, Rack and PHP apps read as the same variable) never
// reaches the app; other names with `_` follow `headersWithUnderscoresAction`.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { startCaServer } from '../helpers/ca-server.js';
import { startMeshSidecar } from '../helpers/mesh.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { testId } from '../helpers/throwaway-ca.js';
import { echoServer, headerValues, type EchoReply, type TestServer } from '../helpers/upstream.js';

const forged = {
  'x-forwarded-proto': 'https',
  x_forwarded_proto: 'https',
  x_forwarded_client_cert: 'URI=spiffe://test.local/ns/default/sa/admin',
  x_request_id: 'forged-id',
  x_forwarded_for: '10.0.0.1',
  'x-custom_name': 'v',
};

let app: TestServer;
const sidecars: InProcessSidecar[] = [];
beforeAll(async () => {
  app = await echoServer();
});
afterAll(async () => {
  for (const s of sidecars) await s.stop();
  await app.close();
});

async function sidecar(action?: string): Promise<InProcessSidecar> {
  const s = await startSidecar({
    accessLog: { mode: 'off' },
    ...(action === undefined ? {} : { headersWithUnderscoresAction: action }),
    inbound: { address: '127.0.0.1', port: 0, appPort: app.port },
  });
  sidecars.push(s);
  return s;
}

function names(echo: EchoReply): string[] {
  return echo.headers.map(([name]) => name);
}

function http2Echo(port: number, headers: Record<string, string>): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':path': '/', ...headers });
    let body = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => {
      session.close();
      resolve(JSON.parse(body) as EchoReply);
    });
    stream.on('error', reject);
  });
}

describe('forwarded headers from callers', () => {
  it('default (DROP_HEADER): no header with `_` reaches the app, x-forwarded-proto is the hop', async () => {
    const s = await sidecar();
    for (const echo of [JSON.parse((await request(s.inboundPort, { headers: forged })).body) as EchoReply, await http2Echo(s.inboundPort, forged)]) {
      expect(names(echo).filter((name) => name.includes('_'))).toEqual([]);
      expect(headerValues(echo, 'x-forwarded-proto')).toEqual(['http']);
      expect(headerValues(echo, 'x-request-id')[0]).not.toBe('forged-id');
    }
  });

  it('ALLOW: passes other names with `_` but never a look-alike of a header the sidecar sets', async () => {
    const s = await sidecar('ALLOW');
    for (const echo of [JSON.parse((await request(s.inboundPort, { headers: forged })).body) as EchoReply, await http2Echo(s.inboundPort, forged)]) {
      expect(names(echo).filter((name) => name.includes('_'))).toEqual(['x-custom_name']);
      expect(headerValues(echo, 'x-forwarded-proto')).toEqual(['http']);
    }
    const framing = await request(s.inboundPort, { headers: { content_length: '5', transfer_encoding: 'chunked', x_forwarded_host: 'kept' } });
    expect(names(JSON.parse(framing.body) as EchoReply).filter((name) => name.includes('_'))).toEqual(['x_forwarded_host']);
  });

  it('REJECT_REQUEST: a header name with `_` gets 400 naming it', async () => {
    const s = await sidecar('REJECT_REQUEST');
    const reply = await request(s.inboundPort, { headers: { 'x-custom_name': 'v' } });
    expect(reply.status).toBe(400);
    expect(reply.headers['x-weft-error']).toBe('DOWNSTREAM_PROTOCOL_ERROR');
    expect(reply.body).toContain('x-custom_name');
  });

  it('over mutual TLS, even with ALLOW on both sidecars: the app gets one XFCC, the genuine one, and no look-alike', async () => {
    const ca = await startCaServer();
    const backend = await startMeshSidecar(ca, { workload: 'backend', headersWithUnderscoresAction: 'ALLOW', inbound: { port: 0, appPort: app.port } });
    const frontend = await startMeshSidecar(ca, {
      workload: 'frontend',
      headersWithUnderscoresAction: 'ALLOW',
      outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: testId('backend') }] },
    });
    try {
      const echo = JSON.parse((await request(frontend.outboundPort, { headers: { host: 'backend', ...forged } })).body) as EchoReply;
      expect(names(echo).filter((name) => name.includes('_'))).toEqual(['x-custom_name']);
      const xfcc = headerValues(echo, 'x-forwarded-client-cert');
      expect(xfcc).toHaveLength(1);
      expect(xfcc[0]).toContain(`URI=${testId('frontend')}`);
      expect(headerValues(echo, 'x-forwarded-proto')).toEqual(['https']);
    } finally {
      await frontend.stop();
      await backend.stop();
      await ca.close();
    }
  });

  it('refuses an unknown action with a clear error', async () => {
    await expect(sidecar('KEEP')).rejects.toThrow(/headersWithUnderscoresAction/);
  });
});
