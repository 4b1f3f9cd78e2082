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

/** `total` bytes of one reused buffer, produced only as fast as they are read. */
function bytes(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(chunk.length, total - sent);
      sent += size;
      this.push(size === chunk.length ? chunk : chunk.subarray(0, size));
    },
  });
}

describe('streaming through the sidecar with bounded memory', () => {
  let app: TestServer;
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
          res.writeHead(200, { 'content-length': GiB });
          bytes(GiB).pipe(res);
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

  it('downloads 1 GiB, with a reader that stops for a while', async () => {
    const received = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: proxy.inboundPort, path: '/', agent: false }, (res) => {
          let total = 0;
          let paused = false;
          res.on('data', (data: Buffer) => {
            total += data.length;
            // Stop reading for a second a little way in: the sidecar must stop reading too.
            if (!paused && total > 64 * 1024 * 1024) {
              paused = true;
              res.pause();
              setTimeout(() => res.resume(), 1000);
            }
          });
          res.on('end', () => resolve(total));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    expect(received).toBe(GiB);
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss - idleRss).toBeLessThan(growthLimit);
  }, 120_000);
});
