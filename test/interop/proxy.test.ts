// The sidecar between peers we did not write: curl as an HTTP_PROXY client and uploader, nginx
// as the upstream, wrk as a load generator (Debian packages curl, nginx, wrk).
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { startNginx, staticRoot, type Nginx } from '../helpers/nginx.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { echoServer, type EchoReply, type TestServer } from '../helpers/upstream.js';

const run = promisify(execFile);
const page = 'hello from nginx\n'.repeat(64);

describe('sidecar with curl, nginx and wrk', () => {
  let nginx: Nginx;
  let echo: TestServer;
  let proxy: InProcessSidecar;

  beforeAll(async () => {
    nginx = await startNginx({ workers: 1, server: `location / { root ${staticRoot({ 'page.html': page })}; }` });
    echo = await echoServer();
    proxy = await startSidecar({
      accessLog: { mode: 'off' },
      inbound: { address: '127.0.0.1', port: 0, appPort: nginx.port },
      outbound: {
        port: 0,
        clusters: [
          { name: 'web', hosts: ['web.svc'], endpoints: [{ address: '127.0.0.1', port: nginx.port }] },
          { name: 'echo', hosts: ['echo.svc'], endpoints: [{ address: '127.0.0.1', port: echo.port }] },
        ],
      },
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await echo.close();
    nginx.stop();
  });

  it('serves curl configured with the outbound listener as its HTTP proxy', async () => {
    const { stdout } = await run('curl', ['-sS', '--fail', '-x', `http://127.0.0.1:${proxy.outboundPort}`, 'http://web.svc/page.html']);
    expect(stdout).toBe(page);
  });

  it('carries a curl upload that waits for 100-continue', async () => {
    const size = 2 * 1024 * 1024;
    const file = join(await mkdtemp(join(tmpdir(), 'weft-upload-')), 'body');
    await writeFile(file, Buffer.alloc(size, 0x75));
    const { stdout, stderr } = await run(
      'curl',
      ['-sS', '-v', '--fail', '-x', `http://127.0.0.1:${proxy.outboundPort}`, '-H', 'Expect: 100-continue', '--data-binary', `@${file}`, 'http://echo.svc/upload'],
      { maxBuffer: 1024 * 1024 },
    ).then(
      (result) => result,
      (error: { stdout: string; stderr: string }) => error,
    );
    expect(stderr).toContain('HTTP/1.1 100 Continue');
    expect((JSON.parse(stdout) as EchoReply).bodyBytes).toBe(size);
  }, 30_000);

  it('takes wrk load to nginx without a failed request, and counts every one', async () => {
    const { stdout } = await run('wrk', ['-t1', '-c16', '-d3s', `http://127.0.0.1:${proxy.inboundPort}/page.html`]);
    expect(stdout).not.toMatch(/Non-2xx|Socket errors/);
    const completed = Number(/(\d+) requests in/.exec(stdout)?.[1]);
    expect(completed).toBeGreaterThan(100);
    const families = parsePrometheusTextFormat((await request(proxy.adminPort, { path: '/metrics' })).body);
    const ok = families.find((f) => f.name === 'istio_requests_total')!.metrics.find((m) => m.labels?.reporter === 'destination' && m.labels.response_code === '200');
    expect(Number(ok?.value)).toBeGreaterThanOrEqual(completed);
  }, 30_000);
});
