// Graceful drain of a `weft proxy` process on SIGTERM.
import { once } from 'node:events';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { request } from '../helpers/http-client.js';
import { spawnSidecar } from '../helpers/sidecar.js';
import { echoServer, listen, type TestServer } from '../helpers/upstream.js';

describe('drain on SIGTERM', () => {
  let app: TestServer;

  beforeAll(async () => {
    app = await echoServer();
  });

  afterAll(async () => {
    await app.close();
  });

  it('stops accepting, finishes requests in flight, then exits 0', async () => {
    // An app that answers only when the test says so.
    const holding = await listen(http.createServer());
    const proxy = await spawnSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: holding.port }, drain: { deadlineMs: 30_000 } });
    const agent = new http.Agent({ keepAlive: true });
    try {
      const arrived = once(holding.server, 'request');
      const inFlight = request(proxy.inboundPort, { agent });
      const [, held] = (await arrived) as [http.IncomingMessage, http.ServerResponse];
      proxy.child.kill('SIGTERM');
      // The sidecar says it drains in the same turn as it stops accepting.
      await eventually(async () => proxy.stderr(), (stderr) => stderr.includes('draining'));
      expect((await request(proxy.adminPort, { path: '/ready' })).status).toBe(503);
      await expect(request(proxy.inboundPort)).rejects.toThrow(/ECONNREFUSED/);
      held.writeHead(200, { 'content-length': '4' }).end('done');
      const reply = await inFlight;
      expect(reply.status).toBe(200);
      expect(reply.headers.connection).toBe('close');
      expect(await proxy.exited).toBe(0);
      expect(proxy.stderr()).toContain('drained');
    } finally {
      agent.destroy();
      proxy.child.kill('SIGKILL');
      await holding.close();
    }
  });

  it('cuts what is still in flight at the deadline and exits 0', async () => {
    const proxy = await spawnSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: app.port }, drain: { deadlineMs: 300 } });
    try {
      const arrived = once(app.server, 'request');
      const inFlight = request(proxy.inboundPort, { path: '/?delay=20000' }).then(
        () => 'answered',
        () => 'cut',
      );
      await arrived;
      const started = Date.now();
      expect(await proxy.terminate()).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await inFlight).toBe('cut');
    } finally {
      proxy.child.kill('SIGKILL');
    }
  });
});
