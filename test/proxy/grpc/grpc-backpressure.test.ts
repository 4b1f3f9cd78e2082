// A slow reader does not make the sidecar buffer: a 64 MiB server stream to a client that stops
// reading holds the sidecar's memory near where it was (HTTP/2 flow control carries the pause back
// to the server), and the whole stream still arrives once the client reads again.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoService, startEchoServer, type EchoServer } from '../../helpers/grpc-echo.js';
import { spawnSidecar, type SidecarProcess } from '../../helpers/sidecar.js';

const messages = 4096;
const size = 16 * 1024;

let server: EchoServer;
let sidecar: SidecarProcess;

beforeAll(async () => {
  server = await startEchoServer();
  sidecar = await spawnSidecar({ accessLog: { mode: 'off' }, outbound: { port: 0, clusters: [{ name: 'echo', hosts: ['echo'], protocol: 'grpc', endpoints: [{ address: '127.0.0.1', port: server.port }] }] } });
});

afterAll(async () => {
  await sidecar.terminate();
  await server.close();
});

describe('gRPC flow control through the sidecar', () => {
  it('keeps the sidecar from buffering a large stream its caller does not read', async () => {
    const before = await sidecar.rss();
    const session = http2.connect(`http://127.0.0.1:${sidecar.outboundPort}`);
    try {
      const request = Buffer.from(`${messages}x${size}`);
      const frame = Buffer.alloc(5 + request.length);
      frame.writeUInt32BE(request.length, 1);
      request.copy(frame, 5);
      const stream = session.request({ ':method': 'POST', ':path': echoService.Fanout.path, ':authority': 'echo', 'content-type': 'application/grpc', te: 'trailers' });
      stream.end(frame);
      // Not reading: only the flow-control windows' worth may be in flight.
      stream.pause();
      let peak = 0;
      for (let i = 0; i < 10; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        peak = Math.max(peak, await sidecar.rss());
      }
      const total = messages * (size + 5);
      expect(peak - before).toBeLessThan(total / 4);
      let received = 0;
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('trailers', resolve));
      const ended = new Promise((resolve) => stream.once('end', resolve));
      stream.on('data', (chunk: Buffer) => (received += chunk.length));
      stream.resume();
      expect((await trailers)['grpc-status']).toBe('0');
      await ended;
      expect(received).toBe(total);
    } finally {
      session.close();
    }
  });
});
