// A gRPC client weft did not write (Debian python3-grpcio) calls the demo Inventory through web's
// outbound sidecar: Get allowed, Adjust PERMISSION_DENIED.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { demoMeshForTests } from '../deploy/up-fixture.js';

const run = promisify(execFile);

// Generic unary calls with protobuf bytes written by hand (no generated stubs needed):
// GetRequest{sku} is field 1 (string); AdjustRequest{sku, delta} adds field 2 (varint).
const CLIENT = `
import sys, grpc
target, method = sys.argv[1], sys.argv[2]
sku = b"apple"
request = b"\\x0a" + bytes([len(sku)]) + sku + (b"\\x10\\x01" if method == "Adjust" else b"")
channel = grpc.insecure_channel(target, options=[("grpc.default_authority", "inventory")])
call = channel.unary_unary("/demo.inventory.v1.Inventory/" + method, request_serializer=None, response_deserializer=None)
try:
    call(request, timeout=5)
    print("OK")
except grpc.RpcError as error:
    print(error.code().name)
`;

describe('weft up demo with python3-grpcio', () => {
  const mesh = demoMeshForTests();

  it('gets Inventory.Get and is refused Inventory.Adjust', async () => {
    const target = new URL(mesh.record().workloads.web!.outbound).host;
    const call = async (method: string) => (await run('/usr/bin/python3', ['-c', CLIENT, target, method])).stdout.trim();
    expect(await call('Get')).toBe('OK');
    expect(await call('Adjust')).toBe('PERMISSION_DENIED');
  });
});
