// OpenSSL's s_client against a sidecar's own inbound mTLS listener (not a bare TLS server): with
// a mesh certificate it gets an HTTP response from the app and the app learns its SPIFFE ID;
// without one, or with another CA's, the handshake is refused and the app sees nothing.
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { startMeshSidecar, type MeshSidecar } from '../helpers/mesh.js';
import { runOpenssl } from '../helpers/openssl.js';
import { issueWorkload, testId, throwawayCa, type WorkloadCredentials } from '../helpers/throwaway-ca.js';
import { listen, type TestServer } from '../helpers/upstream.js';

const clientId = testId('frontend');
const httpRequest = 'GET /hello HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n';

describe('openssl s_client against the sidecar inbound mTLS listener', () => {
  let ca: TestCaServer;
  let dir: string;
  let app: TestServer & { xfcc: string[] };
  let sidecar: MeshSidecar;

  beforeAll(async () => {
    ca = await startCaServer();
    dir = await mkdtemp(join(tmpdir(), 'weft-sidecar-openssl-'));
    await writeFile(join(dir, 'bundle.pem'), ca.ca.trustBundlePems.join(''));
    const server = http.createServer((req, res) => {
      app.xfcc.push(String(req.headers['x-forwarded-client-cert'] ?? ''));
      res.end('hello from the app\n');
    });
    app = Object.assign(await listen(server), { xfcc: [] as string[] });
    sidecar = await startMeshSidecar(ca, { workload: 'backend', inbound: { port: 0, appPort: app.port, mtls: 'STRICT' } });
  });

  afterAll(async () => {
    await sidecar.stop();
    await app.close();
    await ca.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function files(name: string, credentials: WorkloadCredentials): Promise<string[]> {
    const cert = join(dir, `${name}-cert.pem`);
    const key = join(dir, `${name}-key.pem`);
    await writeFile(cert, credentials.chainPems.join(''));
    await writeFile(key, credentials.privateKeyPem, { mode: 0o600 });
    return ['-cert', cert, '-key', key];
  }

  function sClient(extra: string[]) {
    return runOpenssl(['s_client', '-connect', `127.0.0.1:${sidecar.inboundPort}`, '-CAfile', join(dir, 'bundle.pem'), '-alpn', 'http/1.1', '-ign_eof', ...extra], httpRequest);
  }

  it('serves a mesh certificate over TLS 1.3 and passes the caller identity to the app', async () => {
    const before = app.xfcc.length;
    const result = await sClient(await files('frontend', await issueWorkload(ca.ca, clientId)));
    expect(result.stdout).toMatch(/New, TLSv1\.3/);
    expect(result.stdout).toMatch(/ALPN protocol: http\/1\.1/);
    expect(result.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    expect(result.stdout).toContain('HTTP/1.1 200');
    expect(result.stdout).toContain('hello from the app');
    expect(app.xfcc.length).toBe(before + 1);
    expect(app.xfcc.at(-1)).toContain(`URI=${clientId}`);
  });

  it('shows the sidecar certificate carrying its SPIFFE ID, signed by the mesh CA', async () => {
    const result = await sClient([...(await files('frontend', await issueWorkload(ca.ca, clientId))), '-showcerts']);
    const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(result.stdout)?.[0] ?? '';
    const text = await runOpenssl(['x509', '-noout', '-text'], leaf);
    expect(text.stdout).toContain(`URI:${testId('backend')}`);
  });

  it('serves TLS 1.2 too', async () => {
    const result = await sClient([...(await files('frontend', await issueWorkload(ca.ca, clientId))), '-tls1_2']);
    expect(result.stdout).toMatch(/New, TLSv1\.2/);
    expect(result.stdout).toContain('HTTP/1.1 200');
  });

  it('refuses s_client without a certificate: certificate required, no HTTP, app untouched', async () => {
    const before = app.xfcc.length;
    const result = await sClient([]);
    expect(result.stdout + result.stderr).toMatch(/alert certificate required/);
    expect(result.stdout).not.toContain('HTTP/1.1');
    expect(app.xfcc.length).toBe(before);
  });

  it('refuses a certificate from another CA: connection cut, no HTTP, app untouched', async () => {
    const before = app.xfcc.length;
    const result = await sClient([...(await files('stranger', await issueWorkload(throwawayCa().ca, clientId))), '-tls1_2']);
    // Node verifies a client certificate once OpenSSL's handshake is done, and cuts the connection
    // before reading a byte of it: s_client sees the end of the stream, never a response.
    expect(result.stdout + result.stderr).toMatch(/alert unknown ca|unexpected eof while reading/);
    expect(result.stdout).not.toContain('HTTP/1.1');
    expect(app.xfcc.length).toBe(before);
  });
});
