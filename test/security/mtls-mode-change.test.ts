// A PeerAuthentication change applies while the sidecar runs: PERMISSIVE -> STRICT refuses new
// plaintext connections at once and closes existing ones after their request in flight (HTTP/2
// ones by GOAWAY), and back; the authz default for unmatched-policy assets follows the same mode,
// chosen with the listener's precedence (workload over namespace over mesh, the app's port over
// the whole).
import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../proxy/config/load-config.js';
import { sidecarConfigFromSnapshot, type LocalSidecarSettings } from '../../proxy/xds/sidecar-config-from-snapshot.js';
import { decodeSnapshot } from '../../proxy/xds/snapshot.js';
import { request } from '../helpers/http-client.js';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { startMeshSidecar, type MeshSidecar } from '../helpers/mesh.js';
import { startSidecar, testConfig } from '../helpers/sidecar.js';
import { testId } from '../helpers/throwaway-ca.js';
import { echoServer, type TestServer } from '../helpers/upstream.js';

let ca: TestCaServer;
let app: TestServer;
let backend: MeshSidecar;
let frontend: MeshSidecar;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ca = await startCaServer();
  app = await echoServer();
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await app.close();
  await ca.close();
});

const backendConfig = (mtls: string) => ({ workload: 'backend', inbound: { port: 0, appPort: app.port, mtls } });

interface RawConnection {
  readonly socket: net.Socket;
  /** Resolves with the next whole response (head and content-length body). */
  response(): Promise<string>;
  readonly closed: Promise<void>;
}

function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = '';
    let waiting: ((text: string) => void) | undefined;
    const deliver = (): void => {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1 || waiting === undefined) return;
      const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      const text = buffer.slice(0, end + 4 + length);
      buffer = buffer.slice(end + 4 + length);
      const done = waiting;
      waiting = undefined;
      done(text);
    };
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      buffer += chunk;
      deliver();
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('connect', () =>
      resolve({
        socket,
        closed,
        response: () =>
          new Promise<string>((done) => {
            waiting = done;
            deliver();
          }),
      }),
    );
    socket.once('error', reject);
  });
}

describe('a live change of the inbound mTLS mode', () => {
  beforeAll(async () => {
    backend = await startMeshSidecar(ca, backendConfig('PERMISSIVE'));
    stops.push(() => backend.stop());
    frontend = await startMeshSidecar(ca, {
      workload: 'frontend',
      outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: testId('backend') }] },
    });
    stops.push(() => frontend.stop());
  });

  it('PERMISSIVE -> STRICT: refuses new plaintext at once, closes existing plaintext after its request, keeps mTLS', async () => {
    const idle = await rawConnection(backend.inboundPort);
    idle.socket.write('GET / HTTP/1.1\r\nHost: backend\r\n\r\n');
    expect(await idle.response()).toMatch(/^HTTP\/1\.1 200 /);
    const busy = await rawConnection(backend.inboundPort);
    const arrived = new Promise<void>((resolve) => app.server.once('request', () => resolve()));
    busy.socket.write('GET /?delay=300 HTTP/1.1\r\nHost: backend\r\n\r\n');
    const busyResponse = busy.response();
    const h2c = http2.connect(`http://127.0.0.1:${backend.inboundPort}`);
    h2c.on('error', () => undefined);
    const goaway = new Promise<void>((resolve) => h2c.once('goaway', () => resolve()));
    const h2cReply = await new Promise<number>((resolve) => {
      const stream = h2c.request({ ':path': '/' });
      stream.on('response', (headers) => resolve(Number(headers[':status'])));
      stream.resume();
    });
    expect(h2cReply).toBe(200);
    await arrived;

    backend.sidecar.reconfigure(validateConfig(testConfig({ ...backendConfig('STRICT'), accessLog: { mode: 'off' }, identity: backend.config.identity })));

    await idle.closed;
    await goaway;
    expect(await busyResponse).toMatch(/^HTTP\/1\.1 200 /);
    await busy.closed;
    await expect(request(backend.inboundPort, { headers: { host: 'backend' } })).rejects.toThrow();
    expect((await request(frontend.outboundPort, { headers: { host: 'backend' } })).status).toBe(200);
    h2c.destroy();
  });

  it('STRICT -> PERMISSIVE: takes plaintext again without a restart', async () => {
    backend.sidecar.reconfigure(validateConfig(testConfig({ ...backendConfig('PERMISSIVE'), accessLog: { mode: 'off' }, identity: backend.config.identity })));
    expect((await request(backend.inboundPort, { headers: { host: 'backend' } })).status).toBe(200);
    expect((await request(frontend.outboundPort, { headers: { host: 'backend' } })).status).toBe(200);
  });
});

describe('the authz default follows the listener mode', () => {
  const local: LocalSidecarSettings = {
    workload: 'web',
    namespace: 'shop',
    identity: { trustDomain: 'weft.test', ca: { address: '127.0.0.1:1', trustBundleFile: 'root.pem' }, certificateTtlSeconds: 0 },
    inbound: { address: '127.0.0.1', port: 0 },
    outbound: { address: '127.0.0.1', port: 0 },
    admin: { address: '127.0.0.1', port: 0 },
  };
  const doc = (kind: string, name: string, spec: object) => JSON.stringify({ apiVersion: 'weft.dev/v1alpha1', kind, metadata: { name, namespace: 'shop' }, spec });
  const web = doc('Workload', 'web', { serviceAccount: 'web', ports: [{ port: 8080, protocol: 'http' }] });
  // An asset no policy covers: STRICT denies it (default-deny), PERMISSIVE lets it through.
  const unguarded = doc('Asset', 'unguarded', { workload: 'web', match: { paths: [{ prefix: '/' }] } });
  const wide = (mode: string) => doc('PeerAuthentication', 'all', { mode });
  const own = (mode: string, port?: string) => doc('PeerAuthentication', 'web', { workload: 'web', mode, ...(port === undefined ? {} : { ports: { [port]: { mode: mode === 'STRICT' ? 'PERMISSIVE' : 'STRICT' } } }) });

  async function statusUnder(...peerAuthentications: string[]): Promise<{ mtls: string | undefined; status: number }> {
    const config = sidecarConfigFromSnapshot(decodeSnapshot({ versionInfo: 'v1', revision: 1, documents: [web, unguarded, ...peerAuthentications] }, { workload: 'web', namespace: 'shop' }), local);
    const s = await startSidecar({ accessLog: { mode: 'off' }, inbound: { port: 0, appPort: app.port, filters: config.inbound!.filters } });
    try {
      return { mtls: config.inbound!.mtls, status: (await request(s.inboundPort)).status };
    } finally {
      await s.stop();
    }
  }

  it('workload STRICT over namespace PERMISSIVE: the listener and the default both STRICT', async () => {
    expect(await statusUnder(wide('PERMISSIVE'), own('STRICT'))).toEqual({ mtls: 'STRICT', status: 403 });
  });

  it("the app port's entry over the workload's mode, for the default as for the listener", async () => {
    expect(await statusUnder(own('PERMISSIVE', '8080'))).toEqual({ mtls: 'STRICT', status: 403 });
    expect(await statusUnder(own('STRICT', '8080'))).toEqual({ mtls: 'PERMISSIVE', status: 200 });
  });

  it('namespace PERMISSIVE alone relaxes both; no PeerAuthentication is the mesh default, STRICT', async () => {
    expect(await statusUnder(wide('PERMISSIVE'))).toEqual({ mtls: 'PERMISSIVE', status: 200 });
    expect(await statusUnder()).toEqual({ mtls: 'STRICT', status: 403 });
  });
});
