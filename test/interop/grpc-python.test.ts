// gRPC interop with a stack weft did not write: python3-grpcio (Debian) client -> weft sidecar ->
// mTLS (h2) -> weft sidecar -> python3-grpcio server. Unary with binary metadata and trailers, an
// error status, bidirectional streaming, and a deadline that expires.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { startMeshSidecar, type MeshSidecar } from '../helpers/mesh.js';
import { testId } from '../helpers/throwaway-ca.js';

const peer = fileURLToPath(new URL('./grpc_python_peer.py', import.meta.url));
const python = '/usr/bin/python3';

let ca: TestCaServer;
let server: ChildProcessWithoutNullStreams;
let backend: MeshSidecar;
let frontend: MeshSidecar;

function runClient(port: number, authority: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [peer, 'client', String(port), authority]);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as Record<string, unknown>);
      else reject(new Error(`python client exited ${code}: ${err}`));
    });
  });
}

beforeAll(async () => {
  ca = await startCaServer();
  server = spawn(python, [peer, 'server']);
  const serverPort = await new Promise<number>((resolve, reject) => {
    server.stdout.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim())));
    server.once('exit', (code) => reject(new Error(`python server exited ${code}`)));
  });
  backend = await startMeshSidecar(ca, { workload: 'backend', inbound: { port: 0, appPort: serverPort, appProtocol: 'grpc' } });
  frontend = await startMeshSidecar(ca, {
    workload: 'frontend',
    outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: testId('backend') }] },
  });
});

afterAll(async () => {
  await frontend?.stop();
  await backend?.stop();
  server?.stdin.end();
  server?.kill();
  await ca?.close();
});

describe('python3-grpcio through two weft sidecars', () => {
  it('carries unary, error, bidi and deadline calls as grpcio expects', async () => {
    const results = await runClient(frontend.outboundPort, 'backend');
    expect(results.unary).toEqual({ reply: 'py:hello', trailers: { 'x-trailer-bin': '0001feff', 'x-trailer': 'plain' } });
    expect(results.failed).toEqual({ code: 'FAILED_PRECONDITION', details: 'python: asked to fail' });
    expect(results.bidi).toEqual(['echo:one', 'echo:two', 'echo:three']);
    expect(results.deadline).toEqual({ code: 'DEADLINE_EXCEEDED' });
  });

  it('gets UNAVAILABLE from the sidecar when the upstream is gone', async () => {
    const lonely = await startMeshSidecar(ca, {
      workload: 'frontend',
      outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: 1 }], spiffeId: testId('backend') }] },
    });
    try {
      await expect(runClient(lonely.outboundPort, 'backend')).rejects.toThrow(/UNAVAILABLE/);
    } finally {
      await lonely.stop();
    }
  });
});
