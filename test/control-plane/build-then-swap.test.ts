// A snapshot is ACKed only once its whole data path is built. Two managed sidecars (real `weft
// proxy` processes) and a real control plane: a RequestAuthentication whose jwksUri passes the
// schema but is not a URL reaches orders' sidecar, which cannot build its jwt filter from it.
import http from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { echoServer } from '../helpers/upstream.js';
import { runWeft } from '../helpers/weft-cli.js';
import { cleanupScope, until } from './control-plane-fixture.js';
import { spawnControlPlane, type ControlPlaneProcess } from './control-plane-process.js';
import { spawnManagedSidecar } from './managed-sidecar-process.js';
import { meshDirectory } from './mesh-fixture.js';

const { defer } = cleanupScope();

function requestAuthentication(jwksUri: string): string {
  return `apiVersion: weft.dev/v1alpha1
kind: RequestAuthentication
metadata: { name: users }
spec:
  workload: orders
  jwtRules: [{ issuer: https://issuer.example, jwksUri: "${jwksUri}" }]
`;
}

/** The status of a request from web to orders through web's outbound port. */
function throughMesh(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const request = http.request({ host: '127.0.0.1', port, method, path, headers: { host: 'orders', ...headers }, agent: false, timeout: 5000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(0));
    request.end();
  });
}

interface OrdersStatus {
  sentVersion: string | null;
  ackedVersion: string | null;
  lastNack: { version: string; code: string; message: string } | null;
}

async function ordersStatus(cp: ControlPlaneProcess): Promise<OrdersStatus | undefined> {
  const body = (await (await fetch(`${cp.admin}/v1/status`, { headers: cp.adminHeaders.read })).json()) as { sidecars: (OrdersStatus & { workload: string })[] };
  return body.sidecars.find((s) => s.workload === 'default/orders');
}

describe('build then swap', () => {
  it('NACKs a snapshot that fails to build, naming the resource; the sidecar keeps serving and enforcing the previous one and reports its version, also after reconnecting', { timeout: 120_000 }, async () => {
    const dir = await meshDirectory();
    const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
    const cp = await spawnControlPlane(dir, state, { security: 'own-ca' });
    defer(() => cp.kill());
    const token = async (workload: string) => (await runWeft(['token', 'create', '--workload', workload, '--state-dir', state, '--trust-domain', 'weft.test'])).stdout.trim();
    const app = await echoServer();
    defer(() => app.close());
    const common = { controlPlane: cp.grpc, trustBundle: cp.trustBundle!, appPort: app.port };
    const orders = await spawnManagedSidecar({ ...common, workload: 'orders', token: await token('orders') });
    defer(() => orders.kill());
    const web = await spawnManagedSidecar({ ...common, workload: 'web', token: await token('web') });
    defer(() => web.kill());
    const bearer = { authorization: 'Bearer not-a-token' };
    await until(async () => (await throughMesh(web.outboundPort, 'GET', '/orders/1', bearer)) === 200, 'web to reach orders', 30_000);
    // The running policy allows GET only.
    expect(await throughMesh(web.outboundPort, 'POST', '/orders/1')).toBe(403);
    const good = await until(async () => {
      const s = await ordersStatus(cp);
      return s !== undefined && s.ackedVersion !== null && s.ackedVersion === s.sentVersion && s;
    }, 'orders to ACK its first snapshot', 30_000);

    await writeFile(join(dir, 'request-authentication.yaml'), requestAuthentication('https://exa mple.com/jwks'));
    const nacked = await until(async () => {
      const s = await ordersStatus(cp);
      return s?.lastNack !== null && s?.lastNack !== undefined && s;
    }, 'orders to NACK the snapshot it cannot build', 30_000);
    expect(nacked.lastNack!.version).toBe(nacked.sentVersion);
    expect(nacked.lastNack!.version).not.toBe(good.ackedVersion);
    expect(nacked.lastNack!.message).toContain('RequestAuthentication default/users');
    expect(nacked.lastNack!.message).toContain('jwksUri "https://exa mple.com/jwks" is not a URL');
    expect(nacked.lastNack!.message).toContain('inbound filter jwt');
    expect(nacked.ackedVersion).toBe(good.ackedVersion);
    expect(orders.output()).toContain(`refused snapshot ${nacked.lastNack!.version}`);
    // The previous data path serves and enforces: no jwt filter refuses the malformed token, the
    // policy still refuses a POST.
    expect(await throughMesh(web.outboundPort, 'GET', '/orders/1', bearer)).toBe(200);
    expect(await throughMesh(web.outboundPort, 'POST', '/orders/1')).toBe(403);

    // A control plane that restarts learns from each sidecar the version it holds: orders still
    // holds the one it ACKed, so the new replica sends it the bad one again and records the NACK.
    await cp.kill('SIGKILL');
    const again = await spawnControlPlane(dir, state, { security: 'own-ca', grpc: Number(cp.grpc.split(':')[1]) });
    defer(() => again.kill());
    const renacked = await until(async () => {
      const s = await ordersStatus(again);
      return s?.lastNack !== null && s?.lastNack !== undefined && s;
    }, 'orders to reconnect and NACK again', 30_000);
    expect(renacked.lastNack!.version).toBe(nacked.lastNack!.version);
    expect(renacked.ackedVersion).not.toBe(nacked.lastNack!.version);
    expect(await throughMesh(web.outboundPort, 'GET', '/orders/1', bearer)).toBe(200);

    // The same change with a URL builds: it is ACKed, and the request it changes is now refused.
    await writeFile(join(dir, 'request-authentication.yaml'), requestAuthentication('https://127.0.0.1:1/jwks'));
    await until(async () => {
      const s = await ordersStatus(again);
      return s !== undefined && s.lastNack === null && s.ackedVersion !== null && s.ackedVersion === s.sentVersion;
    }, 'orders to ACK the fixed snapshot', 30_000);
    await until(async () => (await throughMesh(web.outboundPort, 'GET', '/orders/1', bearer)) === 401, 'the jwt filter to refuse the malformed token', 30_000);
  });
});
