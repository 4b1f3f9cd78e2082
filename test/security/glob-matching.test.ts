// Asset globs run against the caller's path: their matching time must grow linearly with the
// path, whatever the glob (a backtracking regular expression made `/**a**b` quadratic, a longer
// glob worse). Measured as a ratio between two path lengths in the same run, never as a time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetMatcher } from '../../proxy/filters/authz/asset-matcher.js';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import http from 'node:http';
import { listen, type TestServer } from '../helpers/upstream.js';

const pathological = '/**a**b';
const assets = [
  { name: 'trap', match: { paths: [{ glob: pathological }] } },
  { name: 'files', match: { paths: [{ glob: '/files/**/*.pdf' }, { glob: '/docs/?/x' }] } },
];

/** The fastest of `runs` matches of `path`, in ms: the least noisy figure of a busy machine. */
function fastestMatch(matcher: AssetMatcher<(typeof assets)[number]>, path: string, runs: number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    matcher.match('GET', path, 'backend');
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe('asset globs match in linear time', () => {
  it('matches globs as documented: ** across segments, * and ? within one', () => {
    const matcher = new AssetMatcher(assets);
    expect(matcher.match('GET', '/files/a/b/c.pdf', 'h')?.name).toBe('files');
    expect(matcher.match('GET', '/files/x/c.pdf', 'h')?.name).toBe('files');
    expect(matcher.match('GET', '/files/a/b/c.pdf/x', 'h')).toBeUndefined();
    expect(matcher.match('GET', '/files/a/b/cxpdf', 'h')).toBeUndefined();
    expect(matcher.match('GET', '/docs/q/x', 'h')?.name).toBe('files');
    expect(matcher.match('GET', '/docs//x', 'h')).toBeUndefined();
    expect(matcher.match('GET', '/docs/ab/x', 'h')).toBeUndefined();
    expect(matcher.match('GET', '/xaab', 'h')?.name).toBe('trap');
    expect(matcher.match('GET', '/xa\nb', 'h')?.name).toBe('trap');
  });

  it('takes at most ~linear time more on a 16 KiB path than on a 1 KiB one with a pathological glob', () => {
    const matcher = new AssetMatcher(assets);
    const short = `/${'a'.repeat(1024)}`;
    const long = `/${'a'.repeat(16 * 1024)}`;
    fastestMatch(matcher, short, 3);
    const shortMs = fastestMatch(matcher, short, 15);
    const longMs = fastestMatch(matcher, long, 5);
    // Linear: about 16 times as long; quadratic backtracking: about 256 times.
    expect(longMs / shortMs).toBeLessThan(64);
  });

  describe('through a sidecar', () => {
    let app: TestServer;
    let s: InProcessSidecar;
    beforeAll(async () => {
      // Node's default header limit (16 KiB) is below this path: the app takes up to 64 KiB.
      app = await listen(http.createServer({ maxHeaderSize: 64 * 1024 }, (_req, res) => res.end('ok')));
      const allow = [{ name: 'x.rego', rego: 'package x\nimport rego.v1\nallow := true\n' }];
      s = await startSidecar({
        accessLog: { mode: 'off' },
        limits: { maxHeaderBytes: 64 * 1024 },
        inbound: {
          port: 0,
          appPort: app.port,
          filters: [
            { name: 'authz', config: { assets, policies: [{ name: 'open', targets: { assets: ['trap', 'files'] }, entrypoint: 'data.x.allow', modules: allow }] } },
            { name: 'router' },
          ],
        },
      });
    });
    afterAll(async () => {
      await s.stop();
      await app.close();
    });

    it('answers a request with a 16 KiB path under a pathological glob like any other', async () => {
      // No `b`: the glob does not match, and an unmatched request gets the workload's default.
      const unmatched = await request(s.inboundPort, { path: `/${'a'.repeat(16 * 1024)}` });
      expect(unmatched.status).toBe(403);
      expect(unmatched.headers['x-weft-error']).toBe('AUTHZ_DENIED');
      expect((await request(s.inboundPort, { path: `/${'a'.repeat(16 * 1024)}b` })).status).toBe(200);
    });
  });
});
