// Demo app `orders`: an HTTP JSON API. Its assets (../assets.yaml): /orders, /orders/admin, and
// /customers/* (labelled classification: pii). Placing an order takes stock out through
// Inventory.Adjust, called through this app's outbound sidecar.
import { createServer, type ServerResponse } from 'node:http';
import { appEnv, stopOnSignals } from './app-env.js';
import { callInventory, inventoryClient } from './inventory-contract.js';
import { readJson } from './mesh-call.js';

interface Order {
  readonly id: number;
  readonly sku: string;
  readonly quantity: number;
  readonly customer: string;
}

const orders: Order[] = [
  { id: 1, sku: 'apple', quantity: 2, customer: 'c-17' },
  { id: 2, sku: 'pear', quantity: 1, customer: 'c-42' },
];
const customers = new Map([
  ['c-17', { id: 'c-17', name: 'Ada Lovelace', email: 'ada@example.com' }],
  ['c-42', { id: 'c-42', name: 'Alan Turing', email: 'alan@example.com' }],
]);

const { port, outbound } = appEnv();
const inventory = outbound === undefined ? undefined : inventoryClient(outbound.host, 'inventory');

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function placeOrder(body: unknown): Promise<[number, unknown]> {
  const { sku, quantity, customer } = body as Partial<Order>;
  if (typeof sku !== 'string' || !Number.isInteger(quantity) || (quantity ?? 0) <= 0) return [400, { error: 'expected {"sku": string, "quantity": positive integer}' }];
  if (inventory === undefined) return [503, { error: 'no outbound sidecar (WEFT_OUTBOUND) to reach inventory' }];
  try {
    await callInventory(inventory, 'Adjust', { sku, delta: -quantity! });
  } catch (error) {
    return [409, { error: `inventory refused: ${(error as Error).message}` }];
  }
  const order = { id: orders.length + 1, sku, quantity: quantity!, customer: typeof customer === 'string' ? customer : 'c-17' };
  orders.push(order);
  return [201, order];
}

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://orders').pathname;
  if (path === '/orders' && req.method === 'GET') return send(res, 200, orders);
  if (path === '/orders' && req.method === 'POST') {
    readJson(req).then(placeOrder, () => [400, { error: 'body is not JSON' }] as [number, unknown]).then(([status, body]) => send(res, status, body), () => send(res, 500, { error: 'failed' }));
    return;
  }
  if (path === '/orders/admin') return send(res, 200, { orders: orders.length, units: orders.reduce((n, o) => n + o.quantity, 0) });
  const customer = /^\/customers\/([^/]+)$/.exec(path);
  if (customer !== null) {
    const found = customers.get(decodeURIComponent(customer[1]!));
    return found === undefined ? send(res, 404, { error: 'no such customer' }) : send(res, 200, found);
  }
  send(res, 404, { error: `no route ${req.method} ${path}` });
});
server.listen(port, '127.0.0.1', () => process.stderr.write(`orders: HTTP API on 127.0.0.1:${port}\n`));
stopOnSignals('orders', () => {
  inventory?.close();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
});
