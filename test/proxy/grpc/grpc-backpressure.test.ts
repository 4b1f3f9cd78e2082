// A slow reader does not make the sidecar buffer: a 64 MiB server stream to a client that stops
// reading holds the server back (HTTP/2 flow control carries the pause back to it), and the whole
// stream still arrives once the client reads again. What the server could write bounds what the
// sidecar can hold; its RSS would not tell (the barrier's own 64 MiB leaves garbage behind). The window in which nothing may move is closed by a barrier, not a sleep: a second
// stream of the same size, read by its client, passes through the same sidecar from the same
// server; a sidecar that buffered would have taken in the unread stream as fast.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually.js';
import { echoService, startEchoServer, type EchoServer } from '../../helpers/grpc-echo.js';
import { spawnSidecar, type SidecarProcess } from '../../helpers/sidecar.js';

const messages = 4096;
const size = 16 * 1024;
const total = messages * (size + 5);

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

function fanout(session: http2.ClientHttp2Session): http2.ClientHttp2Stream {
  const request = Buffer.from(`${messages}x${size}`);
  const frame = Buffer.alloc(5 + request.length);
  frame.writeUInt32BE(request.length, 1);
  request.copy(frame, 5);
  const stream = session.request({ ':method': 'POST', ':path': echoService.Fanout.path, ':authority': 'echo', 'content-type': 'application/grpc', te: 'trailers' });
  stream.end(frame);
  return stream;
}

/** Reads the stream to its end: the bytes received and the grpc-status of its trailers. */
async function readAll(stream: http2.ClientHttp2Stream, onData: (received: number) => void = () => undefined): Promise<{ received: number; status: unknown }> {
  let received = 0;
  const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('trailers', resolve));
  const ended = new Promise((resolve) => stream.once('end', resolve));
  stream.on('data', (chunk: Buffer) => onData((received += chunk.length)));
  stream.resume();
  const status = (await trailers)['grpc-status'];
  await ended;
  return { received, status };
}

describe('gRPC flow control through the sidecar', () => {
  it('keeps the sidecar from buffering a large stream its caller does not read', async () => {
    const unread = http2.connect(`http://127.0.0.1:${sidecar.outboundPort}`);
    const reader = http2.connect(`http://127.0.0.1:${sidecar.outboundPort}`);
    try {
      const held = fanout(unread);
      // Not reading: only the flow-control windows' worth may be in flight.
      held.pause();
      await eventually(async () => server.log.fanoutSent.length, (calls) => calls === 1);
      expect(await readAll(fanout(reader))).toEqual({ received: total, status: '0' });
      // The barrier stream's server wrote everything; the held one's is held back by the windows.
      expect(server.log.fanoutSent[1]).toBe(messages);
      process.stdout.write(`held stream: the server wrote ${server.log.fanoutSent[0]} of ${messages} messages\n`);
      expect(server.log.fanoutSent[0]).toBeLessThan(messages / 16);
      expect(await readAll(held)).toEqual({ received: total, status: '0' });
      expect(server.log.fanoutSent[0]).toBe(messages);
    } finally {
      unread.close();
      reader.close();
    }
  });
});
