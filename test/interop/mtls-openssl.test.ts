// mesh mTLS against an independent TLS implementation: OpenSSL's s_client and s_server.
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundTlsOptions, outboundTlsOptions } from '../../proxy/tls/mesh-tls.js';
import { peerSpiffeId } from '../../proxy/tls/peer-identity.js';
import type { WorkloadIdentity } from '../../proxy/tls/workload-identity.js';
import { startCaServer, startWorkloadIdentity, type TestCaServer } from '../helpers/ca-server.js';
import { runOpenssl, startOpensslServer } from '../helpers/openssl.js';
import { expiredWorkload, issueWorkload, testId, throwawayCa, type WorkloadCredentials } from '../helpers/throwaway-ca.js';

let ca: TestCaServer;
let dir: string;
let backend: WorkloadIdentity;
let frontend: WorkloadIdentity;
let server: Server;
let port: number;
const principals: (string | undefined)[] = [];
const backendId = testId('backend');
const frontendId = testId('frontend');

async function writeCredentials(name: string, credentials: WorkloadCredentials): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  await writeFile(cert, credentials.chainPems.join(''));
  await writeFile(key, credentials.privateKeyPem, { mode: 0o600 });
  return { cert, key };
}

beforeAll(async () => {
  ca = await startCaServer();
  dir = await mkdtemp(join(tmpdir(), 'weft-mtls-interop-'));
  await writeFile(join(dir, 'bundle.pem'), ca.ca.trustBundlePems.join(''));
  backend = await startWorkloadIdentity(ca, backendId);
  frontend = await startWorkloadIdentity(ca, frontendId);
  // The mesh's inbound side: answers one line, then closes, and records the peer's identity.
  server = createServer(inboundTlsOptions(backend), (socket) => {
    principals.push(peerSpiffeId(socket));
    socket.once('data', () => socket.end(`pong ${peerSpiffeId(socket)}\n`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  backend.stop();
  frontend.stop();
  server.close();
  await ca.close();
  await rm(dir, { recursive: true, force: true });
});

function nextRefusal(): Promise<string> {
  return once(server, 'tlsClientError').then(([error]) => (error as Error).message);
}

function sClient(extra: string[]) {
  return runOpenssl(
    ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', join(dir, 'bundle.pem'), '-alpn', 'h2,http/1.1', '-ign_eof', ...extra],
    'ping\n',
  );
}

describe('inbound mTLS with openssl s_client as the client', () => {
  it('accepts a valid mesh certificate over TLS 1.3 with ALPN h2, and sees its SPIFFE ID', async () => {
    const files = await writeCredentials('frontend', await issueWorkload(ca.ca, frontendId));
    const result = await sClient(['-cert', files.cert, '-key', files.key]);
    expect(result.stdout).toContain(`pong ${frontendId}`);
    expect(result.stdout).toMatch(/New, TLSv1\.3/);
    expect(result.stdout).toMatch(/ALPN protocol: h2/);
    expect(result.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    expect(principals.at(-1)).toBe(frontendId);
  });

  it('accepts TLS 1.2 with ALPN http/1.1', async () => {
    const files = await writeCredentials('frontend12', await issueWorkload(ca.ca, frontendId));
    const result = await runOpenssl(
      ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', join(dir, 'bundle.pem'), '-alpn', 'http/1.1', '-tls1_2', '-ign_eof', '-cert', files.cert, '-key', files.key],
      'ping\n',
    );
    expect(result.stdout).toContain('pong');
    expect(result.stdout).toMatch(/Protocol *: TLSv1\.2/);
    expect(result.stdout).toMatch(/ALPN protocol: http\/1\.1/);
  });

  it('refuses a client without a certificate', async () => {
    const refusal = nextRefusal();
    const result = await sClient([]);
    expect(result.stdout).not.toContain('pong');
    expect(result.stderr).toMatch(/alert certificate required/);
    expect(await refusal).toMatch(/peer did not return a certificate/);
  });

  it('refuses a certificate from a foreign CA', async () => {
    const files = await writeCredentials('foreign', await issueWorkload(throwawayCa().ca, frontendId));
    const accepted = principals.length;
    const refusal = nextRefusal();
    const result = await sClient(['-cert', files.cert, '-key', files.key]);
    expect(result.stdout).not.toContain('pong');
    // Node checks the client chain once OpenSSL's handshake is done and closes without an alert.
    await refusal;
    expect(principals.length).toBe(accepted);
  });

  it('refuses an expired certificate from the mesh CA', async () => {
    const root = { certificatePem: ca.ca.trustBundlePems[0] as string, privateKeyPem: await readFile(join(ca.stateDir, 'ca', 'ca-key.pem'), 'utf8') };
    const expired = await expiredWorkload(root, frontendId);
    const files = await writeCredentials('expired', expired);
    // What is wrong with it, by openssl's own verification: its age.
    expect((await runOpenssl(['verify', '-CAfile', join(dir, 'bundle.pem'), files.cert])).stderr).toContain('certificate has expired');
    const accepted = principals.length;
    const refusal = nextRefusal();
    const result = await sClient(['-cert', files.cert, '-key', files.key]);
    expect(result.stdout).not.toContain('pong');
    await refusal;
    expect(principals.length).toBe(accepted);
  });
});

describe('outbound mTLS with openssl s_server as the server', () => {
  async function fetchFrom(serverName: string, expectedId: string): Promise<{ ok: boolean; text: string }> {
    const files = await writeCredentials(serverName, await issueWorkload(ca.ca, testId(serverName)));
    const opensslServer = await startOpensslServer([
      '-cert', files.cert, '-key', files.key, '-CAfile', join(dir, 'bundle.pem'), '-Verify', '1', '-verify_return_error', '-www', '-alpn', 'http/1.1',
    ]);
    try {
      return await new Promise((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: opensslServer.port, ...outboundTlsOptions(frontend, expectedId, ['http/1.1']) });
        let text = '';
        socket.on('secureConnect', () => socket.write('GET / HTTP/1.0\r\n\r\n'));
        socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        socket.on('error', (error) => resolve({ ok: false, text: error.message }));
        socket.on('end', () => resolve({ ok: true, text }));
      });
    } finally {
      await opensslServer.stop();
    }
  }

  it('completes mTLS with a server presenting the expected identity (and openssl verifies our client certificate)', async () => {
    const result = await fetchFrom('backend', backendId);
    expect(result.ok).toBe(true);
    expect(result.text).toMatch(/^HTTP\/1\.0 200 ok/);
  });

  it('refuses a valid mesh certificate for the wrong identity', async () => {
    const result = await fetchFrom('intruder', backendId);
    expect(result).toEqual({ ok: false, text: `the server presented ${testId('intruder')}, expected ${backendId}` });
  });
});
