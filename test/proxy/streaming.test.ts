// 1 GiB up and 1 GiB down through a `weft proxy` process, sampling its resident memory: bodies
// stream with backpressure instead of piling up in the sidecar.
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnSidecar, type SidecarProcess } from '../helpers/sidecar.js';
import { listen, type TestServer } from '../helpers/upstream.js';

const GiB = 1024 ** 3;
const chunk = Buffer.alloc(256 * 1024, 0x61);
// Growth of the sidecar's resident memory over its own idle footprint (which differs by runtime:
// about 90 MB on Node 20, 108 MB on Node 24): far below the 1 GiB that buffering would take, with
// room for a GC that runs late. Measured peaks: 62 MB (Node 20), 92-104 MB (Node 24).
const growthLimit = 128 * 1024 * 1024;

/** `total` bytes of one reused buffer, produced only as fast as they are read; `produced` is told each step. */
function bytes(total: number, produced: (sent: number) => void = () => undefined): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(chunk.length, total - sent);
      sent += size;
      produced(sent);
      this.push(size === chunk.length ? chunk : chunk.subarray(0, size));
    },
  });
}

describe('streaming through the sidecar with bounded memory', () => {
  /** Reads a download of `size` bytes through the sidecar to its end: the bytes received. */
  const download = (size: number): Promise<number> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: proxy.inboundPort, path: `/?bytes=${size}`, agent: false }, (res) => {
          let total = 0;
          res.on('data', (data: Buffer) => (total += data.length));
          res.on('end', () => resolve(total));
          res.on('error', reject);
        })
        .on('error', reject);
    });

  let app: TestServer;
  /** Bytes the app has produced for each download, in the order they were asked for. */
  const produced: number[] = [];
  let proxy: SidecarProcess;
  let peakRss = 0;
  let idleRss = 0;
  let sampler: NodeJS.Timeout;

  beforeAll(async () => {
    app = await listen(
      http.createServer((req, res) => {
        if (req.method === 'POST') {
          let received = 0;
          req.on('data', (data: Buffer) => (received += data.length));
          req.on('end', () => res.end(String(received)));
        } else {
          const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes') ?? GiB);
          const index = produced.push(0) - 1;
          res.writeHead(200, { 'content-length': size });
          bytes(size, (sent) => (produced[index] = sent)).pipe(res);
        }
      }),
    );
  });

  // A fresh sidecar for each direction, so each peak is that direction's own.
  beforeEach(async () => {
    peakRss = 0;
    proxy = await spawnSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: app.port }, accessLog: { mode: 'off' } });
    idleRss = await proxy.rss();
    sampler = setInterval(() => {
      proxy.rss().then(
        (rss) => (peakRss = Math.max(peakRss, rss)),
        () => undefined,
      );
    }, 50);
  });

  afterEach(async () => {
    clearInterval(sampler);
    await proxy.terminate();
  });

  afterAll(async () => {
    await app.close();
  });

  it('uploads 1 GiB', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.inboundPort, method: 'POST', path: '/', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      bytes(GiB).pipe(req);
    });
    expect(Number(answer)).toBe(GiB);
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss - idleRss).toBeLessThan(growthLimit);
  }, 120_000);

  it('downloads 1 GiB, with a reader that stops until a barrier download went through', async () => {
    const first = produced.length;
    let heldAt = 0;
    let producedWhileHeld = 0;
    const received = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: proxy.inboundPort, path: '/', agent: false }, (res) => {
          let total = 0;
          res.on('data', (data: Buffer) => {
            total += data.length;
            // Stop reading a little way in: the sidecar must stop reading too. A 256 MiB download
            // read through the same sidecar meanwhile is the barrier: a sidecar that kept reading
            // the held one would have taken in as much of it.
            if (heldAt === 0 && total > 64 * 1024 * 1024) {
              heldAt = total;
              res.pause();
              download(256 * 1024 * 1024)
                .then((barrier) => {
                  expect(barrier).toBe(256 * 1024 * 1024);
                  producedWhileHeld = produced[first]! - heldAt;
                  res.resume();
                })
                .catch(reject);
            }
          });
          res.on('end', () => resolve(total));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    expect(received).toBe(GiB);
    process.stdout.write(`held download: the app got ahead of the reader by ${(producedWhileHeld / 2 ** 20).toFixed(1)} MiB\n`);
    expect(producedWhileHeld).toBeLessThan(64 * 1024 * 1024);
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss - idleRss).toBeLessThan(growthLimit);
  }, 120_000);
});
