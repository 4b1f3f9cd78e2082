// gRPC end to end through two sidecars: grpc-js client -> outbound sidecar (h2c) -> mTLS with
// ALPN h2 -> inbound sidecar -> grpc-js server (h2c). Every kind of call, trailers exactly as the
// server sent them, deadlines, cancellation, sidecar-made gRPC errors, and the gRPC metrics.
import http2 from 'node:http2';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCaServer, type TestCaServer } from '../../helpers/ca-server.js';
import { echoClient, echoService, startEchoServer, unary, type EchoServer } from '../../helpers/grpc-echo.js';
import { request } from '../../helpers/http-client.js';
import { startMeshSidecar, type MeshSidecar } from '../../helpers/mesh.js';
import { testId } from '../../helpers/throwaway-ca.js';

let ca: TestCaServer;
let server: EchoServer;
let backend: MeshSidecar;
let frontend: MeshSidecar;
let client: grpc.Client;

const raw = (buffer: Buffer): Buffer => buffer;

beforeAll(async () => {
  ca = await startCaServer();
  server = await startEchoServer();
  backend = await startMeshSidecar(ca, { workload: 'backend', inbound: { port: 0, appPort: server.port, appProtocol: 'grpc' } });
  frontend = await startMeshSidecar(ca, {
    workload: 'frontend',
    outbound: {
      port: 0,
      clusters: [
        { name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: testId('backend') },
        // Nothing listens on port 1.
        { name: 'gone', hosts: ['gone'], endpoints: [{ address: '127.0.0.1', port: 1 }] },
      ],
    },
  });
  client = echoClient(frontend.outboundPort, 'backend');
});

afterAll(async () => {
  client.close();
  await frontend.stop();
  await backend.stop();
  await server.close();
  await ca.close();
});

function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (condition()) resolve();
      else if (Date.now() > until) reject(new Error('condition not met in time'));
      else setTimeout(check, 10);
    };
    check();
  });
}

describe('gRPC through two sidecars with mTLS', () => {
  it('carries a unary call, its metadata and its binary trailers', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-echo-bin', Buffer.from([0, 255, 10, 13]));
    const { error, reply, trailers } = await unary(client, Buffer.from('hello'), metadata);
    expect(error).toBeNull();
    expect(reply?.toString()).toBe('hello');
    expect(trailers?.get('x-echo-bin')).toEqual([Buffer.from([0, 255, 10, 13])]);
    // The app learns the caller's SPIFFE ID from the inbound sidecar.
    const seen = server.log.metadata.at(-1)!;
    expect(String(seen.get('x-forwarded-client-cert')[0])).toContain(testId('frontend'));
  });

  it("reads the caller's certificate once per connection, not once per call", async () => {
    expect((await unary(client, Buffer.from('warm'))).error).toBeNull();
    const reads = vi.spyOn(tls.TLSSocket.prototype, 'getPeerCertificate');
    try {
      for (let i = 0; i < 5; i++) expect((await unary(client, Buffer.from(`call ${i}`))).error).toBeNull();
      expect(reads).not.toHaveBeenCalled();
      expect(String(server.log.metadata.at(-1)!.get('x-forwarded-client-cert')[0])).toContain(testId('frontend'));
    } finally {
      reads.mockRestore();
    }
  });

  it('forwards an error status, its message and -bin trailers exactly', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-echo-status', String(grpc.status.FAILED_PRECONDITION));
    const { error } = await unary(client, Buffer.from('x'), metadata);
    expect(error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error?.details).toBe('echo: asked to fail ünïcode %');
    expect(error?.metadata.get('x-trailer-bin')).toEqual([Buffer.from([0, 1, 2, 254, 255])]);
    expect(error?.metadata.get('x-trailer')).toEqual(['plain']);
  });

  it('carries a client stream', async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const call = client.makeClientStreamRequest(echoService.Collect.path, raw, raw, (error, value) => (error ? reject(error) : resolve(value!)));
      for (const part of ['a', 'bb', 'ccc']) call.write(Buffer.from(part));
      call.end();
    });
    expect(reply.toString()).toBe('3:abbccc');
  });

  it('carries a server stream', async () => {
    const messages: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.makeServerStreamRequest(echoService.Fanout.path, raw, raw, Buffer.from('50x1000'));
      call.on('data', (message: Buffer) => messages.push(message));
      call.on('error', reject);
      call.on('end', () => resolve());
    });
    expect(messages).toHaveLength(50);
    expect(messages.every((m) => m.length === 1000)).toBe(true);
  });

  it('carries a bidirectional stream, replies interleaved with requests', async () => {
    const call = client.makeBidiStreamRequest(echoService.Chat.path, raw, raw);
    const replies: string[] = [];
    const next = (): Promise<string> => new Promise((resolve) => call.once('data', (message: Buffer) => resolve(message.toString())));
    for (const word of ['one', 'two', 'three']) {
      const reply = next();
      call.write(Buffer.from(word));
      // Each reply arrives before the next request is sent: nothing waits for the stream's end.
      replies.push(await reply);
    }
    const ended = new Promise<void>((resolve) => call.on('status', () => resolve()));
    call.end();
    await ended;
    expect(replies).toEqual(['echo:one', 'echo:two', 'echo:three']);
  });

  it('ends a call past its grpc-timeout with DEADLINE_EXCEEDED and cancels it upstream', async () => {
    const before = server.log.cancelled.length;
    // A raw HTTP/2 client, so that no client-side timer competes with the sidecar's deadline.
    const session = http2.connect(`http://127.0.0.1:${frontend.outboundPort}`);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': echoService.Unary.path,
        ':authority': 'backend',
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': '200m',
        'x-echo-delay-ms': '3000',
      });
      stream.end(Buffer.from([0, 0, 0, 0, 4, 0x73, 0x6c, 0x6f, 0x77]));
      const [headers, flags] = await new Promise<[http2.IncomingHttpHeaders, number]>((resolve) => stream.once('response', (h, f) => resolve([h, f])));
      expect(headers[':status']).toBe(200);
      expect(headers['content-type']).toBe('application/grpc');
      expect(headers['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
      expect(headers['grpc-message']).toBe('UPSTREAM_REQUEST_TIMEOUT: grpc-timeout deadline exceeded');
      // Trailers-only: the one HEADERS frame ends the stream.
      expect(flags & http2.constants.NGHTTP2_FLAG_END_STREAM).not.toBe(0);
    } finally {
      session.close();
    }
    await waitFor(() => server.log.cancelled.length > before);
  });

  it('lets grpc-js see DEADLINE_EXCEEDED past its own deadline', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-echo-delay-ms', '3000');
    const { error } = await unary(client, Buffer.from('slow'), metadata, { deadline: Date.now() + 300 });
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it('propagates a client cancel (RST_STREAM) to the server', async () => {
    const before = server.log.cancelled.length;
    const call = client.makeBidiStreamRequest(echoService.Chat.path, raw, raw);
    call.on('error', () => undefined);
    const first = new Promise<void>((resolve) => call.once('data', () => resolve()));
    call.write(Buffer.from('hi'));
    await first;
    call.cancel();
    await waitFor(() => server.log.cancelled.includes('Chat') && server.log.cancelled.length > before);
  });

  it('answers UNAVAILABLE as a trailers-only gRPC response when the upstream is unreachable', async () => {
    const gone = echoClient(frontend.outboundPort, 'gone');
    try {
      const { error } = await unary(gone, Buffer.from('x'));
      expect(error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(error?.details).toBe('UPSTREAM_CONNECT_FAILURE: could not connect to the upstream');
      expect(error?.metadata.get('x-weft-error')).toEqual(['UPSTREAM_CONNECT_FAILURE']);
    } finally {
      gone.close();
    }
  });

  it('answers UNIMPLEMENTED for a host with no route', async () => {
    const nowhere = echoClient(frontend.outboundPort, 'nowhere');
    try {
      const { error } = await unary(nowhere, Buffer.from('x'));
      expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(error?.details).toContain('NO_ROUTE');
    } finally {
      nowhere.close();
    }
  });

  it('reports gRPC metrics: protocol, grpc_response_status and messages each way', async () => {
    const call = client.makeBidiStreamRequest(echoService.Chat.path, raw, raw);
    const done = new Promise<void>((resolve) => call.on('status', () => resolve()));
    call.on('data', () => undefined);
    for (let i = 0; i < 4; i++) call.write(Buffer.from(`m${i}`));
    call.end();
    await done;
    for (const sidecar of [frontend, backend]) {
      const text = (await request(sidecar.adminPort, { path: '/metrics' })).body;
      const line = (name: string): number =>
        text
          .split('\n')
          .filter((l) => l.startsWith(`${name}{`) && l.includes('request_protocol="grpc"') && l.includes('grpc_response_status="0"') && l.includes('response_code="200"'))
          .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
      expect(line('istio_requests_total')).toBeGreaterThan(0);
      expect(line('istio_request_messages_total')).toBeGreaterThanOrEqual(4);
      expect(line('istio_response_messages_total')).toBeGreaterThanOrEqual(4);
    }
    // The deadline the frontend enforced, and the unreachable cluster.
    const text = (await request(frontend.adminPort, { path: '/metrics' })).body;
    expect(text).toMatch(/istio_requests_total\{[^}]*request_protocol="grpc"[^}]*response_flags="UT",grpc_response_status="4"\}/);
    expect(text).toMatch(/istio_requests_total\{[^}]*destination_service="gone"[^}]*response_code="200",response_flags="UF",grpc_response_status="14"\}/);
  });
});
