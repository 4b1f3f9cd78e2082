// Graceful drain of a `weft proxy` process on SIGTERM.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { spawnSidecar } from '../helpers/sidecar.js';
import { echoServer, type TestServer } from '../helpers/upstream.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('drain on SIGTERM', () => {
  let app: TestServer;

  beforeAll(async () => {
    app = await echoServer();
  });

  afterAll(async () => {
    await app.close();
  });

  it('stops accepting, finishes requests in flight, then exits 0', async () => {
    const proxy = await spawnSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: app.port }, drain: { deadlineMs: 5000 } });
    const agent = new http.Agent({ keepAlive: true });
    try {
      const inFlight = request(proxy.inboundPort, { path: '/?delay=800', agent });
      await sleep(200);
      proxy.child.kill('SIGTERM');
      await sleep(200);
      expect((await request(proxy.adminPort, { path: '/ready' })).status).toBe(503);
      await expect(request(proxy.inboundPort)).rejects.toThrow(/ECONNREFUSED/);
      const reply = await inFlight;
      expect(reply.status).toBe(200);
      expect(reply.headers.connection).toBe('close');
      expect(await proxy.exited).toBe(0);
      expect(proxy.stderr()).toContain('drained');
    } finally {
      agent.destroy();
      proxy.child.kill('SIGKILL');
    }
  });

  it('cuts what is still in flight at the deadline and exits 0', async () => {
    const proxy = await spawnSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: app.port }, drain: { deadlineMs: 300 } });
    try {
      const inFlight = request(proxy.inboundPort, { path: '/?delay=20000' }).then(
        () => 'answered',
        () => 'cut',
      );
      await sleep(200);
      const started = Date.now();
      expect(await proxy.terminate()).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await inFlight).toBe('cut');
    } finally {
      proxy.child.kill('SIGKILL');
    }
  });
});
