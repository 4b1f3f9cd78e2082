// The demo Inventory service's contract (inventory.proto), loaded once for the server and its
// clients. The .proto stays beside the sources; the compiled apps find it from dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, type Client, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export interface Stock {
  sku: string;
  quantity: number;
}

function protoFile(): string {
  const beside = fileURLToPath(new URL('inventory.proto', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../../../deploy/local/apps/inventory.proto', import.meta.url));
}

const definition = loadSync(protoFile(), { keepCase: true, longs: Number, defaults: true });
const pkg = ((loadPackageDefinition(definition).demo as GrpcObject).inventory as GrpcObject).v1 as GrpcObject;
const InventoryClient = pkg.Inventory as ServiceClientConstructor;
export const inventoryService = InventoryClient.service;

type Callback = (error: ServiceError | null, stock?: Stock) => void;
interface InventoryChannel extends Client {
  Get(request: { sku: string }, callback: Callback): void;
  Adjust(request: { sku: string; delta: number }, callback: Callback): void;
}

/** A plaintext (h2c) client: to the app directly, or to an outbound sidecar with `authority`. */
export function inventoryClient(target: string, authority?: string): InventoryChannel {
  const options = authority === undefined ? {} : { 'grpc.default_authority': authority };
  return new InventoryClient(target, credentials.createInsecure(), options) as unknown as InventoryChannel;
}

export function callInventory(client: InventoryChannel, method: 'Get', request: { sku: string }): Promise<Stock>;
export function callInventory(client: InventoryChannel, method: 'Adjust', request: { sku: string; delta: number }): Promise<Stock>;
export function callInventory(client: InventoryChannel, method: 'Get' | 'Adjust', request: { sku: string; delta?: number }): Promise<Stock> {
  return new Promise((resolve, reject) => {
    const done: Callback = (error, stock) => (error === null ? resolve(stock!) : reject(error));
    if (method === 'Get') client.Get({ sku: request.sku }, done);
    else client.Adjust({ sku: request.sku, delta: request.delta ?? 0 }, done);
  });
}
