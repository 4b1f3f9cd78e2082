// A new config swapped into a running sidecar: clusters it did not change keep their upstream
// connections; a changed cluster gets new ones and the old pool closes; a config that cannot be
// built whole changes nothing.
import http from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../proxy/config/load-config.js';
import { loadFilters } from '../../proxy/filters/registry.js';
import { DataPathBuildError } from '../../proxy/runtime/snapshot.js';
import { eventually } from '../helpers/eventually.js';
import { request } from '../helpers/http-client.js';
import { startSidecar, testConfig, type InProcessSidecar } from '../helpers/sidecar.js';

let upstream: http.Server;
let port: number;
const closed = new Set<number>();
let proxy: InProcessSidecar;

function outbound(timeoutMs: number): Record<string, unknown> {
  return { outbound: { port: 0, clusters: [{ name: 'up', hosts: ['up'], timeoutMs, endpoints: [{ address: '127.0.0.1', port }] }] } };
}

/** The port the sidecar's upstream connection came from, as the upstream saw it. */
async function connectionPort(): Promise<number> {
  const reply = await request(proxy.outboundPort, { headers: { host: 'up' } });
  expect(reply.status).toBe(200);
  return Number(reply.body);
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => res.end(String(req.socket.remotePort)));
  upstream.on('connection', (socket: Socket) => {
    const remote = socket.remotePort!;
    socket.on('close', () => closed.add(remote));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  port = (upstream.address() as { port: number }).port;
  proxy = await startSidecar(outbound(5000));
});
afterAll(async () => {
  await proxy.stop();
  await new Promise((resolve) => upstream.close(resolve));
});

describe('reconfiguring a running sidecar', () => {
  it('keeps the connections of a cluster whose config did not change', async () => {
    const before = await connectionPort();
    proxy.sidecar.reconfigure(validateConfig(testConfig({ ...outbound(5000), accessLog: { mode: 'off' } })));
    expect(await connectionPort()).toBe(before);
    expect(closed.has(before)).toBe(false);
  });

  it('opens new connections for a changed cluster and closes the old pool', async () => {
    const before = await connectionPort();
    proxy.sidecar.reconfigure(validateConfig(testConfig(outbound(6000))));
    const after = await connectionPort();
    expect(after).not.toBe(before);
    await eventually(async () => closed.has(before), (isClosed) => isClosed);
  });

  it('refuses a config it cannot build whole, naming the part, and keeps running the previous data path', async () => {
    await loadFilters(['jwt']);
    const before = await connectionPort();
    const running = proxy.sidecar.holder.current;
    const unbuildable = testConfig(outbound(7000));
    const filters = [{ name: 'jwt', config: { rules: [{ issuer: 'https://issuer.example', jwksUri: 'https://exa mple.com/jwks' }] } }, { name: 'router' }];
    const config = validateConfig({ ...unbuildable, outbound: { ...(unbuildable.outbound as object), filters } });
    expect(() => proxy.sidecar.reconfigure(config)).toThrow(new DataPathBuildError('outbound filter jwt (filters[0])', new Error('rules[0]: jwksUri "https://exa mple.com/jwks" is not a URL')));
    expect(proxy.sidecar.holder.current).toBe(running);
    expect(await connectionPort()).toBe(before);
  });
});
