// Demo app `inventory`: the gRPC service demo.inventory.v1.Inventory (grpc-js), stock in memory.
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { appEnv, stopOnSignals } from './app-env.js';
import { inventoryService, type Stock } from './inventory-contract.js';

const stock = new Map<string, number>([
  ['apple', 40],
  ['pear', 12],
  ['fig', 3],
]);

function found(sku: string, callback: sendUnaryData<Stock>): number | undefined {
  const quantity = stock.get(sku);
  if (quantity === undefined) callback({ code: status.NOT_FOUND, details: `no sku '${sku}'` });
  return quantity;
}

const server = new Server();
server.addService(inventoryService, {
  Get(call: ServerUnaryCall<{ sku: string }, Stock>, callback: sendUnaryData<Stock>) {
    const quantity = found(call.request.sku, callback);
    if (quantity !== undefined) callback(null, { sku: call.request.sku, quantity });
  },
  Adjust(call: ServerUnaryCall<{ sku: string; delta: number }, Stock>, callback: sendUnaryData<Stock>) {
    const { sku, delta } = call.request;
    const quantity = found(sku, callback);
    if (quantity === undefined) return;
    if (quantity + delta < 0) return callback({ code: status.FAILED_PRECONDITION, details: `only ${quantity} '${sku}' in stock` });
    stock.set(sku, quantity + delta);
    callback(null, { sku, quantity: quantity + delta });
  },
});

const { port } = appEnv();
server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error) => {
  if (error !== null) {
    process.stderr.write(`inventory: cannot listen on 127.0.0.1:${port}: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`inventory: gRPC demo.inventory.v1.Inventory on 127.0.0.1:${port}\n`);
});
stopOnSignals('inventory', () => new Promise((resolve) => server.tryShutdown(() => resolve())));
