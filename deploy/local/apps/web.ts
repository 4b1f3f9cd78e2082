// Demo app `web`: the front end. Each page calls the other workloads through web's outbound
// sidecar (HTTP to orders, gRPC to inventory) and shows what each call got, denials included.
import { createServer } from 'node:http';
import { appEnv, stopOnSignals } from './app-env.js';
import { callInventory, inventoryClient } from './inventory-contract.js';
import { callService } from './mesh-call.js';

const { port, outbound } = appEnv();
if (outbound === undefined) {
  process.stderr.write('web: set WEFT_OUTBOUND to the outbound sidecar (weft up does)\n');
  process.exit(2);
}
const inventory = inventoryClient(outbound.host, 'inventory');

type Outcome = { ok: boolean; status: number; body: unknown } | { ok: false; error: string };

async function outcome(call: () => Promise<{ status: number; body: unknown }>): Promise<Outcome> {
  try {
    const { status, body } = await call();
    return { ok: status < 400, status, body };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

async function page(): Promise<Record<string, Outcome>> {
  const grpc = (method: 'Get' | 'Adjust') => async () => ({
    status: 200,
    body: method === 'Get' ? await callInventory(inventory, 'Get', { sku: 'apple' }) : await callInventory(inventory, 'Adjust', { sku: 'apple', delta: 1 }),
  });
  const [orders, admin, customer, stock, adjust] = await Promise.all([
    outcome(() => callService(outbound!, 'orders', '/orders')),
    outcome(() => callService(outbound!, 'orders', '/orders/admin')),
    outcome(() => callService(outbound!, 'orders', '/customers/c-17')),
    outcome(grpc('Get')),
    outcome(grpc('Adjust')),
  ]);
  return {
    'GET orders /orders (allowed)': orders,
    'GET orders /orders/admin (denied to web)': admin,
    'GET orders /customers/c-17 (pii: allow list only)': customer,
    'Inventory.Get apple (open to the mesh)': stock,
    'Inventory.Adjust apple (orders only)': adjust,
  };
}

const server = createServer((req, res) => {
  if (req.url !== '/') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('try /\n');
    return;
  }
  void page().then((body) => {
    const text = JSON.stringify(body, null, 2) + '\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  });
});
server.listen(port, '127.0.0.1', () => process.stderr.write(`web: front end on 127.0.0.1:${port}\n`));
stopOnSignals('web', () => {
  inventory.close();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
});
