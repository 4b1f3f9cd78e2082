import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoveryChannel, type SnapshotMessage } from '../../control-plane/api/discovery-contract.js';
import { parseWorkloadId } from '../../control-plane/api/spiffe-id.js';
import { readSnapshotFile } from '../../proxy/xds/snapshot-file.js';
import { mergeEndpoints, type AnnouncedEndpoint, type EndpointDirectory } from '../../control-plane/distribution/endpoint-directory.js';
import { ALLOW_REGO, ROUTE_YAML, WORKLOADS_YAML, meshDirectory } from './mesh-fixture.js';
import { cleanupScope, controlPlaneChannelOptions, controlPlaneOn, sidecar, sidecarCredentials, until } from './control-plane-fixture.js';

const { defer, started } = cleanupScope();

async function meshWithControlPlane() {
  const dir = await meshDirectory();
  const cp = await controlPlaneOn(dir);
  defer(() => cp.close());
  return { dir, cp };
}


async function status(cp: { adminUrl: string; adminHeaders: { read: Record<string, string> } }) {
  const response = await fetch(`${cp.adminUrl}/v1/status`, { headers: cp.adminHeaders.read });
  return (await response.json()) as {
    revision: { number: number };
    sidecars: { identity: string; workload: string; ackedVersion: string | null; ackedRevision: number | null; lastNack: { message: string } | null }[];
  };
}

describe('snapshot distribution over gRPC', () => {
  it('sends each sidecar its own snapshot and records its ACK', async () => {
    const { cp } = await meshWithControlPlane();
    const web = started(sidecar(cp.grpcAddress, 'web'));
    const orders = started(sidecar(cp.grpcAddress, 'orders', { node: { id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default', inboundAddress: '127.0.0.1:15006' } }));
    await until(() => web.applied.length > 0 && orders.applied.length > 0, 'both snapshots');
    const ofWeb = web.holder.current()!.snapshot;
    expect(ofWeb.workload?.metadata.name).toBe('web');
    expect([...ofWeb.services.keys()]).toEqual(['orders']);
    expect(ofWeb.routes.get('orders')?.spec.timeoutMs).toBe(2000);
    expect(ofWeb.policies).toEqual([]);
    const ofOrders = orders.holder.current()!.snapshot;
    expect(ofOrders.assets.map((a) => a.metadata.name)).toEqual(['orders-admin']);
    expect(ofOrders.policies.map((p) => p.metadata.name)).toEqual(['orders-authz']);
    expect(ofOrders.services.size).toBe(0);
    // The orders sidecar's announced inbound address reaches its callers as an endpoint.
    await until(() => web.holder.current()!.snapshot.services.get('orders')?.spec.endpoints?.length === 1, 'the orders endpoint');
    expect(web.holder.current()!.snapshot.services.get('orders')!.spec.endpoints).toEqual([{ host: '127.0.0.1', port: 15006 }]);
    const version = web.holder.current()!.snapshot.version;
    const seen = await until(async () => {
      const current = await status(cp);
      return current.sidecars.find((s) => s.workload === 'default/web')?.ackedVersion === version && current;
    }, 'the ACK in status');
    expect(seen.sidecars.map((s) => s.workload).sort()).toEqual(['default/orders', 'default/web']);
  });

  it('pushes a change only to the sidecars whose snapshot changed', async () => {
    const { dir, cp } = await meshWithControlPlane();
    const web = started(sidecar(cp.grpcAddress, 'web'));
    const orders = started(sidecar(cp.grpcAddress, 'orders'));
    await until(() => web.applied.length === 1 && orders.applied.length === 1, 'first snapshots');
    await writeFile(join(dir, 'routes.yaml'), ROUTE_YAML.replace('timeout: 2s', 'timeout: 3s'));
    await until(() => web.holder.current()!.snapshot.routes.get('orders')?.spec.timeoutMs === 3000, 'the new route');
    expect(web.holder.current()!.snapshot.revision).toBe(2);
    const metrics = () => fetch(`${cp.adminUrl}/metrics`, { headers: cp.adminHeaders.read }).then((response) => response.text());
    const text = await until(async () => {
      const current = await metrics();
      return /weft_cp_convergence_seconds_count 1/.test(current) && current;
    }, 'revision 2 to converge');
    expect(text).toMatch(/weft_cp_pushes_total 3/);
    expect(text).toMatch(/weft_cp_connected_sidecars 2/);
    // The barrier: a change for orders arrives, and it is the only snapshot orders got since its
    // first (the stream is ordered: a push of revision 2 to orders would have come before it).
    await writeFile(join(dir, 'policies', 'authz.rego'), ALLOW_REGO.replace('== "GET"', 'in {"GET", "POST"}'));
    await until(() => orders.applied.length > 1, 'the policy change at orders');
    expect(orders.applied.map((a) => a.snapshot.revision)).toEqual([1, 3]);
  });

  it('keeps the previous snapshot when the sidecar NACKs, and shows the error in status', async () => {
    const { dir, cp } = await meshWithControlPlane();
    const web = started(
      sidecar(cp.grpcAddress, 'web', {
        compile: (snapshot) => {
          if (snapshot.routes.get('orders')?.spec.timeoutMs === 3000) throw new Error('route orders: timeout 3s is not supported here');
          return null;
        },
      }),
    );
    await until(() => web.applied.length === 1, 'first snapshot');
    const first = web.holder.current()!;
    await writeFile(join(dir, 'routes.yaml'), ROUTE_YAML.replace('timeout: 2s', 'timeout: 3s'));
    await until(() => web.rejected.length === 1, 'the NACK');
    expect(web.holder.current()).toBe(first);
    const sidecarStatus = await until(async () => {
      const s = (await status(cp)).sidecars[0];
      return s?.lastNack !== null && s;
    }, 'the NACK in status');
    expect(sidecarStatus.lastNack!.message).toContain('timeout 3s is not supported here');
    expect(sidecarStatus.ackedVersion).toBe(first.snapshot.version);
    expect(await (await fetch(`${cp.adminUrl}/metrics`, { headers: cp.adminHeaders.read })).text()).toMatch(/weft_cp_nacks_total 1/);
  });

  it('refuses a sidecar whose identity is not the service account of the workload it claims', async () => {
    const { cp } = await meshWithControlPlane();
    const impostor = started(sidecar(cp.grpcAddress, 'orders', { serviceAccount: 'web' }));
    const errors: string[] = [];
    impostor.client.on('disconnected', (error) => errors.push(`${error?.code} ${error?.details}`));
    await until(() => errors.length > 0, 'the refusal');
    expect(errors[0]).toBe('7 SIDECAR_IDENTITY_MISMATCH: workload default/orders runs as service account orders, not web');
    expect(impostor.applied).toEqual([]);
  });

  it('withdraws the endpoint of a sidecar in the very push that refuses it, when its Workload changes service account', async () => {
    const { dir, cp } = await meshWithControlPlane();
    const web = started(sidecar(cp.grpcAddress, 'web'));
    const orders = started(sidecar(cp.grpcAddress, 'orders', { node: { id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default', inboundAddress: '127.0.0.1:15006' } }));
    const errors: string[] = [];
    orders.client.on('disconnected', (error) => errors.push(`${error?.code} ${error?.details}`));
    const endpointsOf = (snapshot: (typeof web.applied)[number]['snapshot']) => snapshot.services.get('orders')?.spec.endpoints ?? [];
    await until(() => web.holder.current() !== undefined && endpointsOf(web.holder.current()!.snapshot).length === 1, 'the orders endpoint at web');
    await writeFile(join(dir, 'workloads.yaml'), WORKLOADS_YAML.replace('serviceAccount: orders', 'serviceAccount: orders-v2'));
    await until(() => errors.length > 0, 'the refusal of the orders sidecar');
    expect(errors[0]).toBe('7 SIDECAR_IDENTITY_MISMATCH: workload default/orders runs as service account orders-v2, not orders');
    await until(() => web.holder.current()!.snapshot.revision === 2, 'revision 2 at web');
    expect(web.applied.filter(({ snapshot }) => snapshot.revision >= 2).map(({ snapshot }) => endpointsOf(snapshot))).toEqual([[]]);
    expect((await status(cp)).sidecars.map((s) => s.workload)).toEqual(['default/web']);
  });

  it('publishes no endpoint of a sidecar that claims a workload it does not run as, or one that does not exist', async () => {
    const published: AnnouncedEndpoint[][] = [];
    const recording: EndpointDirectory = { start: async () => undefined, close: async () => undefined, index: (local) => mergeEndpoints(local, []), publish: (local) => void published.push([...local]) };
    const dir = await meshDirectory();
    const cp = await controlPlaneOn(dir, { endpoints: recording });
    defer(() => cp.close());
    const web = started(sidecar(cp.grpcAddress, 'web'));
    const ghost = started(sidecar(cp.grpcAddress, 'payments', { serviceAccount: 'intruder', node: { id: 'spiffe://weft.test/ns/default/sa/intruder', workload: 'payments', namespace: 'default', inboundAddress: '127.0.0.1:15999' } }));
    const orders = started(sidecar(cp.grpcAddress, 'orders', { node: { id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default', inboundAddress: '127.0.0.1:15006' } }));
    await until(() => ghost.applied.length === 1 && published.some((list) => list.some((e) => e.workload === 'orders')), "the orders endpoint's publication");
    // The Workload it claimed appears, run by another service account: it is refused, still unpublished.
    await writeFile(join(dir, 'payments.yaml'), 'apiVersion: weft.dev/v1alpha1\nkind: Workload\nmetadata: { name: payments }\nspec:\n  serviceAccount: payments\n  ports: [{ port: 8080, protocol: http }]\n');
    await writeFile(join(dir, 'workloads.yaml'), WORKLOADS_YAML.replace('services: [orders]', 'services: [orders, payments]'));
    await until(() => web.holder.current()?.snapshot.services.has('payments') === true, 'the payments service at web');
    expect(published.flat().map((e) => `${e.workload} ${e.port}`)).not.toContain('payments 15999');
    expect(web.applied.flatMap(({ snapshot }) => snapshot.services.get('payments')?.spec.endpoints ?? [])).toEqual([]);
    expect(orders.applied.length).toBeGreaterThan(0);
  });

  it('refuses a node that is not a SPIFFE ID of the trust domain', async () => {
    const { cp } = await meshWithControlPlane();
    const stranger = started(sidecar(cp.grpcAddress, 'web', { node: { id: 'spiffe://elsewhere/ns/default/sa/web', workload: 'web', namespace: 'default' } }));
    const errors: string[] = [];
    stranger.client.on('disconnected', (error) => errors.push(`${error?.code} ${error?.details}`));
    await until(() => errors.length > 0, 'the refusal');
    expect(errors[0]).toBe('3 SIDECAR_REQUEST_INVALID: node.id is in trust domain elsewhere, not weft.test');
  });

  it('admin API refuses a foreign Host (DNS rebinding) and state changes that are not JSON', async () => {
    const { cp } = await meshWithControlPlane();
    const { port } = new URL(cp.adminUrl);
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, path: '/v1/status', headers: { host: `evil.example:${port}` } }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject).end();
    });
    expect(rebound.status).toBe(400);
    expect(rebound.body).toContain('loopback host');
    const form = await fetch(`${cp.adminUrl}/v1/delete`, { method: 'POST', headers: { 'content-type': 'text/plain', ...cp.adminHeaders.write }, body: '{"keys":["Route/default/orders"]}' });
    expect(form.status).toBe(400);
    const routes = await fetch(`${cp.adminUrl}/v1/resources?kind=Route`, { headers: cp.adminHeaders.read });
    expect(routes.status).toBe(200);
    expect(((await routes.json()) as { resources: unknown[] }).resources).toHaveLength(1);
  });

  it('never takes a version a sidecar NACKed as held when it reconnects claiming it, and keeps showing the NACK', async () => {
    const { cp } = await meshWithControlPlane();
    const channel = discoveryChannel(cp.grpcAddress, sidecarCredentials(cp.grpcAddress, parseWorkloadId('spiffe://weft.test/ns/default/sa/orders')), controlPlaneChannelOptions);
    defer(() => channel.close());
    const node = { id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default', inboundAddress: '' };
    const open = () => {
      const stream = channel.streamSnapshots();
      const messages: SnapshotMessage[] = [];
      stream.on('data', (message: SnapshotMessage) => messages.push(message));
      stream.on('error', () => undefined);
      defer(() => stream.cancel());
      return { stream, messages };
    };
    const first = open();
    first.stream.write({ node, versionInfo: '', responseNonce: '' });
    const sent = await until(() => first.messages[0], 'the first snapshot');
    first.stream.write({ versionInfo: '', responseNonce: sent.nonce, errorDetail: { code: 'SNAPSHOT_REJECTED', message: 'build: cannot build it' } });
    await until(() => cp.discovery.status()[0]?.lastNack !== undefined, 'the NACK');
    first.stream.cancel();
    await until(() => cp.discovery.status().length === 0, 'the stream to close');

    const second = open();
    second.stream.write({ node, versionInfo: sent.versionInfo, responseNonce: '' });
    const again = await until(() => second.messages[0], 'the refused snapshot, sent again');
    expect(again.versionInfo).toBe(sent.versionInfo);
    const [status] = cp.discovery.status();
    expect(status!.ackedVersion).toBeUndefined();
    expect(status!.lastNack).toMatchObject({ version: sent.versionInfo, message: 'build: cannot build it' });
    second.stream.write({ versionInfo: again.versionInfo, responseNonce: again.nonce });
    await until(() => cp.discovery.status()[0]?.ackedVersion === sent.versionInfo, 'the ACK');
    expect(cp.discovery.status()[0]!.lastNack).toBeUndefined();
  });

  it('holds a reconnecting sidecar on its snapshot until its callees are back, never sending it a service without endpoints', async () => {
    const dir = await meshDirectory();
    const cp = await controlPlaneOn(dir, { resyncHold: { afterConnectMs: 1000, afterStartMs: 0 } });
    defer(() => cp.close());
    const snapshotFile = join(await mkdtemp(join(tmpdir(), 'weft-web-')), 'snapshot.json');
    const ordersNode = { node: { id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default', inboundAddress: '127.0.0.1:15006' } };
    const endpointsOfOrders = (snapshot: { services: ReadonlyMap<string, { spec: { endpoints?: readonly unknown[] } }> }) => snapshot.services.get('orders')?.spec.endpoints?.length ?? 0;
    const orders = started(sidecar(cp.grpcAddress, 'orders', ordersNode));
    const web = started(sidecar(cp.grpcAddress, 'web', { snapshotFile }));
    await until(() => web.holder.current() !== undefined && endpointsOfOrders(web.holder.current()!.snapshot) === 1, 'web to learn the endpoint of orders');
    const held = web.holder.current()!.snapshot.version;
    await until(async () => (await readSnapshotFile(snapshotFile))?.versionInfo === held, 'that snapshot to be persisted');
    web.client.stop();
    orders.client.stop();
    await until(() => cp.discovery.status().length === 0, 'both streams to close');

    // web comes back first, holding its snapshot: the control plane knows no endpoint of orders yet.
    const back = started(sidecar(cp.grpcAddress, 'web', { snapshotFile }));
    await until(() => cp.discovery.status().length === 1, 'web to reconnect');
    started(sidecar(cp.grpcAddress, 'orders', ordersNode));
    await until(() => cp.discovery.status().every((s) => s.ackedVersion !== undefined) && cp.discovery.status().length === 2, 'both to hold the current snapshot');
    expect(back.applied.map((a) => a.source)[0]).toBe('disk');
    expect(back.applied.every((a) => endpointsOfOrders(a.snapshot) === 1)).toBe(true);
    expect(endpointsOfOrders(back.holder.current()!.snapshot)).toBe(1);
  });

  it('ends the hold once every service the sidecar calls has an endpoint, and counts a sidecar holding the current snapshot in sync', async () => {
    const dir = await meshDirectory();
    // A hold far longer than the test: only the endpoints being known can end it.
    const cp = await controlPlaneOn(dir, { resyncHold: { afterConnectMs: 600_000, afterStartMs: 600_000 } });
    defer(() => cp.close());
    const state = await mkdtemp(join(tmpdir(), 'weft-restart-'));
    const files = { web: join(state, 'web.json'), orders: join(state, 'orders.json') };
    const ordersAt = (port: number) => ({ id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default', inboundAddress: `127.0.0.1:${port}` });
    const portOfOrders = (snapshot: { services: ReadonlyMap<string, { spec: { endpoints?: readonly { port: number }[] } }> }) => snapshot.services.get('orders')?.spec.endpoints?.[0]?.port;
    const web = started(sidecar(cp.grpcAddress, 'web', { snapshotFile: files.web }));
    const orders = started(sidecar(cp.grpcAddress, 'orders', { snapshotFile: files.orders, node: ordersAt(15006) }));
    await until(() => web.holder.current() !== undefined && portOfOrders(web.holder.current()!.snapshot) === 15006, 'web to learn the endpoint of orders');
    const versions = { web: web.holder.current()!.snapshot.version, orders: orders.holder.current()!.snapshot.version };
    await until(async () => (await readSnapshotFile(files.web))?.versionInfo === versions.web && (await readSnapshotFile(files.orders))?.versionInfo === versions.orders, 'both snapshots persisted');
    web.client.stop();
    orders.client.stop();
    await until(() => cp.discovery.status().length === 0, 'both streams to close');

    // The whole mesh restarts on its persisted snapshots; orders comes back on another port.
    const webBack = started(sidecar(cp.grpcAddress, 'web', { snapshotFile: files.web }));
    await until(() => cp.discovery.status().length === 1, 'web to reconnect');
    expect(cp.discovery.status()[0]!.ackedVersion).toBeUndefined();
    started(sidecar(cp.grpcAddress, 'orders', { snapshotFile: files.orders, node: ordersAt(15016) }));
    await until(() => webBack.holder.current() !== undefined && portOfOrders(webBack.holder.current()!.snapshot) === 15016, 'web to be sent the new endpoint of orders');
    const inSync = await until(async () => {
      const { sidecars } = (await (await fetch(`${cp.adminUrl}/v1/status`, { headers: cp.adminHeaders.read })).json()) as { sidecars: { workload: string; sentVersion: string | null; ackedVersion: string | null }[] };
      return sidecars.length === 2 && sidecars.every((s) => s.ackedVersion !== null && s.sentVersion === s.ackedVersion) && sidecars;
    }, 'both sidecars in sync');
    // orders held exactly what it would be sent (its own endpoint is not in its snapshot): nothing was pushed to it.
    expect(inSync.find((s) => s.workload === 'default/orders')!.ackedVersion).toBe(versions.orders);
  });
});
