// What `weft up`'s demo policies enforce, through the real processes it starts: HTTP paths (also
// written with dot segments and escapes), the PII allow list with live edits (a broken edit
// changes nothing), gRPC methods.
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { callInventory, inventoryClient } from '../../deploy/local/apps/inventory-contract.js';
import { eventually } from '../helpers/eventually.js';
import { demoMeshForTests, viaProxy } from './up-fixture.js';

describe('weft up demo policies, enforced by the sidecars', () => {
  const mesh = demoMeshForTests();

  it('lets web GET /orders and denies /orders/admin with 403, logging the deciding policy', async () => {
    const web = mesh.record().workloads.web!.outbound;
    expect((await viaProxy(web, 'http://orders/orders')).status).toBe(200);
    const mark = mesh.up().output().length;
    const denied = await viaProxy(web, 'http://orders/orders/admin');
    expect(denied.status).toBe(403);
    await mesh.up().waitFor(/orders-sidecar +\| .*"orders-admin"/, 5000, mark);
  });

  it('denies the same paths written otherwise (dot segments, escapes, doubled slashes, backslashes) with 403 (issue 11)', async () => {
    const web = mesh.record().workloads.web!.outbound;
    for (const url of ['http://orders/./orders/admin', 'http://orders/x/%2e%2e/orders/admin', 'http://orders//orders/admin', 'http://orders/orders\\admin', 'http://orders/./customers/c-17']) {
      expect([url, (await viaProxy(web, url)).status]).toEqual([url, 403]);
    }
    expect((await viaProxy(web, 'http://orders/./orders')).status).toBe(200);
  });

  it('serves PII only to its allow list, and a live edit of the list takes effect; a broken edit changes nothing', async () => {
    const web = mesh.record().workloads.web!.outbound;
    const customer = async () => (await viaProxy(web, 'http://orders/customers/c-17')).status;
    expect(await customer()).toBe(403);
    const file = join(mesh.up().dir, 'policies', 'pii.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('allowed: [', 'allowed: [spiffe://cluster.local/ns/default/sa/web, '));
    await eventually(customer, (status) => status === 200);
    const rego = join(mesh.up().dir, 'policies', 'principal-allow-list.rego');
    const source = await readFile(rego, 'utf8');
    const mark = mesh.up().output().length;
    await writeFile(rego, source.replace('in data.allowed', 'in in data.allowed'));
    await mesh.up().waitFor(/principal-allow-list\.rego:\d+:\d+: /, 10_000, mark);
    expect(await customer()).toBe(200);
    await writeFile(rego, source);
  });

  it('opens Inventory.Get to web and denies it Inventory.Adjust with PERMISSION_DENIED (grpc-js through the outbound sidecar)', async () => {
    const client = inventoryClient(new URL(mesh.record().workloads.web!.outbound).host, 'inventory');
    try {
      expect(await callInventory(client, 'Get', { sku: 'apple' })).toMatchObject({ sku: 'apple' });
      const error = (await callInventory(client, 'Adjust', { sku: 'apple', delta: 1 }).catch((e: unknown) => e)) as ServiceError;
      expect(error.code).toBe(grpcStatus.PERMISSION_DENIED);
    } finally {
      client.close();
    }
  });

  it('lets orders take stock out through Inventory.Adjust when an order is placed', async () => {
    const app = new URL(mesh.record().workloads.orders!.app);
    const placed = await new Promise<number>((resolve, reject) => {
      const req = request({ host: app.hostname, port: app.port, path: '/orders', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ sku: 'apple', quantity: 1 }));
    });
    expect(placed).toBe(201);
  });
});
