// STRICT mutual TLS on a sidecar's inbound port, attacked the ways a caller outside the mesh
// would: each attempt fails with its specific TLS failure, gets no HTTP response, and the app
// sees no request at all. A mesh caller on the same port is served (the control case).
import http from 'node:http';
import net from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundTlsOptions } from '../../proxy/tls/mesh-tls.js';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { startMeshSidecar, type MeshSidecar } from '../helpers/mesh.js';
import { issueWorkload, testId, throwawayCa } from '../helpers/throwaway-ca.js';
import { listen, type TestServer } from '../helpers/upstream.js';

const TLS_ALERT_RECORD = 0x15;
/** The HTTP/2 connection preface, as an h2c client with prior knowledge sends it (RFC 9113 3.4). */
const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const backendId = testId('backend');

/** Writes `bytes` on a plain TCP connection and resolves with every byte read until it closes. */
function plaintextExchange(port: number, bytes: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.write(bytes);
  });
}

/** A TLS client's failure, or 'served' when a request made the round trip. */
function tlsAttempt(port: number, options: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'backend', ...options, ALPNProtocols: ['http/1.1'] });
    socket.once('error', (error) => resolve(error.message));
    socket.once('secureConnect', () => socket.write('GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n'));
    socket.once('data', (chunk: Buffer) => {
      socket.destroy();
      resolve(chunk.toString('latin1').startsWith('HTTP/1.1 ') ? 'served' : `unexpected bytes: ${chunk.toString('latin1')}`);
    });
    socket.once('close', () => resolve('closed without a failure'));
  });
}

describe('STRICT mTLS on the inbound port', () => {
  let ca: TestCaServer;
  let app: TestServer & { requests: number };
  let server: MeshSidecar;
  let client: MeshSidecar;

  beforeAll(async () => {
    ca = await startCaServer();
    const counting = http.createServer((_req, res) => {
      app.requests++;
      res.end('ok');
    });
    app = Object.assign(await listen(counting), { requests: 0 });
    server = await startMeshSidecar(ca, { workload: 'backend', inbound: { port: 0, appPort: app.port, mtls: 'STRICT' } });
    client = await startMeshSidecar(ca, { workload: 'frontend', outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: server.inboundPort }], spiffeId: backendId }] } });
  });

  afterAll(async () => {
    await client.stop();
    await server.stop();
    await app.close();
    await ca.close();
  });

  it('serves a mesh caller with its certificate (the control case)', async () => {
    const before = app.requests;
    expect(await tlsAttempt(server.inboundPort, outboundTlsOptions(client.security.identity, backendId))).toBe('served');
    expect(app.requests).toBe(before + 1);
  });

  it('answers a plaintext HTTP/1.1 request with no HTTP at all, and the app sees nothing', async () => {
    const before = app.requests;
    const bytes = await plaintextExchange(server.inboundPort, 'GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n');
    expect(bytes.toString('latin1')).not.toContain('HTTP/');
    // Nothing, or a TLS alert record: the port speaks only TLS.
    if (bytes.length > 0) expect(bytes[0]).toBe(TLS_ALERT_RECORD);
    expect(app.requests).toBe(before);
  });

  it('answers an h2c connection preface with no HTTP/2 frames, and the app sees nothing', async () => {
    const before = app.requests;
    const bytes = await plaintextExchange(server.inboundPort, Buffer.concat([Buffer.from(H2_PREFACE), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    if (bytes.length > 0) expect(bytes[0]).toBe(TLS_ALERT_RECORD);
    // An HTTP/2 SETTINGS frame would start with a 3-byte length then type 4.
    expect(bytes.length === 0 || bytes[3] !== 4).toBe(true);
    expect(app.requests).toBe(before);
  });

  it('refuses a TLS client without a certificate with the certificate-required alert', async () => {
    const before = app.requests;
    const failure = await tlsAttempt(server.inboundPort, { ca: ca.ca.trustBundlePems.join(''), minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
    expect(failure).toMatch(/certificate required/);
    expect(app.requests).toBe(before);
  });

  it('refuses a client certificate from another CA during the handshake', async () => {
    const before = app.requests;
    const other = await issueWorkload(throwawayCa().ca, testId('frontend'));
    // TLS 1.2, so that the server's verdict on the client certificate ends the handshake itself.
    const failure = await tlsAttempt(server.inboundPort, {
      maxVersion: 'TLSv1.2',
      ca: ca.ca.trustBundlePems.join(''),
      cert: other.chainPems.join(''),
      key: other.privateKeyPem,
      checkServerIdentity: () => undefined,
    });
    // OpenSSL's unknown-CA alert, or the handshake cut before it completed: never a session.
    expect(failure).toMatch(/alert unknown ca|disconnected before secure TLS connection was established/);
    expect(app.requests).toBe(before);
  });

  it('refuses TLS 1.1 with a protocol-version failure', async () => {
    const before = app.requests;
    const credentials = await issueWorkload(ca.ca, testId('frontend'));
    const failure = await tlsAttempt(server.inboundPort, {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      // Lets this client offer TLS 1.1 at all, so that the refusal is the server's.
      ciphers: 'DEFAULT@SECLEVEL=0',
      ca: ca.ca.trustBundlePems.join(''),
      cert: credentials.chainPems.join(''),
      key: credentials.privateKeyPem,
      checkServerIdentity: () => undefined,
    });
    expect(failure).toMatch(/alert protocol version/);
    expect(app.requests).toBe(before);
  });
});
