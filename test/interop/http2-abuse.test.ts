// HTTP/2 abuse against a `weft proxy` process, with raw frames: streams past the advertised
// limit are refused, and a rapid-reset burst (CVE-2023-44487) and a CONTINUATION flood
// (CVE-2024-27316 and relatives) are cut off, while another client, Debian's h2load, is served
// in full on the same port.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR, FLAG, FRAME, RawH2Connection, frame, headerBlock, rstStream, type Frame } from '../helpers/h2-frames.js';
import { runH2load } from '../helpers/h2load.js';
import { spawnSidecar, type SidecarProcess } from '../helpers/sidecar.js';
import { listen, type TestServer } from '../helpers/upstream.js';

const MAX_STREAMS = 10;
const request = (path: string) =>
  headerBlock([
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'app'],
  ]);

/** The sidecar's GOAWAY if it sends one before answering a PING sent now; undefined otherwise. */
async function goawayOrPong(connection: RawH2Connection): Promise<Frame | undefined> {
  await connection.write(frame(FRAME.PING, 0, 0, Buffer.alloc(8)));
  const seen = await connection.waitFor((f) => f.type === FRAME.GOAWAY || (f.type === FRAME.PING && (f.flags & FLAG.ACK) !== 0));
  return seen?.type === FRAME.GOAWAY ? seen : connection.frames.find((f) => f.type === FRAME.GOAWAY);
}

describe('HTTP/2 abuse against a sidecar process', () => {
  let app: TestServer & { requests: number };
  let proxy: SidecarProcess;

  beforeAll(async () => {
    // /stall never answers; everything else answers at once.
    const server = http.createServer((req, res) => {
      app.requests++;
      if (req.url !== '/stall') res.end('ok');
    });
    app = Object.assign(await listen(server), { requests: 0 });
    proxy = await spawnSidecar({ accessLog: { mode: 'off' }, limits: { maxConcurrentStreams: MAX_STREAMS, maxHeaderBytes: 16384 }, inbound: { address: '127.0.0.1', port: 0, appPort: app.port } });
  });

  afterAll(async () => {
    await proxy.terminate();
    await app.close();
  });

  /** h2load's 200 requests over 2 connections: every one must succeed. */
  async function servedInFull(): Promise<void> {
    const result = await runH2load(['-n', '200', '-c', '2', '-m', '4', `http://127.0.0.1:${proxy.inboundPort}/`], 60_000);
    expect(result.output).toContain('requests: 200 total');
    expect(result.succeeded).toBe(200);
    expect(result.status2xx).toBe(200);
  }

  it('serves h2load in full (the control case)', async () => {
    await servedInFull();
  });

  it('refuses the streams a client opens past maxConcurrentStreams, and never forwards them', async () => {
    const before = app.requests;
    const connection = await RawH2Connection.open(proxy.inboundPort);
    const streams = 2 * MAX_STREAMS;
    for (let i = 0; i < streams; i++) await connection.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1 + 2 * i, request('/stall')));
    // nghttp2 treats a stream past the acknowledged limit as a connection error: GOAWAY naming the
    // last stream it took, which is within the limit. A PING answered instead would mean the
    // connection took them all.
    const goaway = await goawayOrPong(connection);
    connection.close();
    expect(goaway).toBeDefined();
    expect(goaway!.payload.readUInt32BE(0)).toBeLessThanOrEqual(1 + 2 * (MAX_STREAMS - 1));
    expect(connection.frames.some((f) => f.type === FRAME.HEADERS)).toBe(false);
    expect(app.requests - before).toBeLessThanOrEqual(MAX_STREAMS);
    await servedInFull();
  });

  it('cuts off a rapid-reset burst and keeps serving another client', async () => {
    const connection = await RawH2Connection.open(proxy.inboundPort);
    const before = app.requests;
    const attempts = 20_000;
    let sent = 0;
    while (sent < attempts && connection.isOpen && !connection.frames.some((f) => f.type === FRAME.GOAWAY)) {
      // Opens a batch of streams, lets the sidecar start on them, then resets them all: the
      // attacker's concurrency stays at zero while the sidecar's work does not.
      const ids = Array.from({ length: 50 }, (_, i) => 1 + 2 * (sent + i));
      sent += ids.length;
      await connection.write(Buffer.concat(ids.map((id) => frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, request('/stall')))));
      await new Promise((resolve) => setImmediate(resolve));
      await connection.write(Buffer.concat(ids.map((id) => rstStream(id, ERROR.CANCEL))));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const goaway = await goawayOrPong(connection);
    connection.close();
    // The sidecar ended the connection well before the burst did, and the app was spared most of it.
    expect(goaway === undefined ? 'closed' : goaway.payload.readUInt32BE(4)).not.toBe(ERROR.NO_ERROR);
    expect(sent).toBeLessThan(attempts);
    expect(app.requests - before).toBeLessThan(sent / 2);
    await servedInFull();
  });

  it('cuts off a CONTINUATION flood within a bounded header size and keeps serving another client', async () => {
    const connection = await RawH2Connection.open(proxy.inboundPort);
    const rssBefore = await proxy.rss();
    await connection.write(frame(FRAME.HEADERS, 0, 1, request('/')));
    const budget = 64 * 1024 * 1024;
    let sent = 0;
    for (let i = 0; sent < budget && connection.isOpen; i++) {
      const block = headerBlock([[`x-flood-${i}`, 'v'.repeat(4000)]]);
      if (!(await connection.write(frame(FRAME.CONTINUATION, 0, 1, block)))) break;
      sent += block.length;
    }
    const open = connection.isOpen;
    connection.close();
    expect(open).toBe(false);
    // Cut off long before the budget: within a small multiple of the header limit.
    expect(sent).toBeLessThan(budget);
    expect((await proxy.rss()) - rssBefore).toBeLessThan(64 * 1024 * 1024);
    await servedInFull();
  });
});
