// Rotation under load: two `weft proxy` processes with 1-minute certificates while `hey` sends
// traffic through them until the rotations happened; then a root rotation with an overlap, each
// step taken once the sidecars show the previous one arrived. Zero failed requests.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { eventually } from '../helpers/eventually.js';
import { runHey } from '../helpers/hey.js';
import { request } from '../helpers/http-client.js';
import { spawnSidecar, type SidecarProcess } from '../helpers/sidecar.js';
import { testId, throwawayRoot } from '../helpers/throwaway-ca.js';
import { echoServer, type EchoReply, type TestServer } from '../helpers/upstream.js';

interface Certs {
  readonly serial: string;
  readonly rotations: number;
  readonly trustBundle: readonly { sha256: string }[];
}

let ca: TestCaServer;
let app: TestServer;
let dir: string;
let sidecars: SidecarProcess[] = [];

beforeEach(async () => {
  ca = await startCaServer({ defaultTtlMs: 60_000 });
  app = await echoServer();
  dir = await mkdtemp(join(tmpdir(), 'weft-rotation-'));
  await writeFile(join(dir, 'root-cert.pem'), ca.ca.trustBundlePems.join(''));
});

afterEach(async () => {
  await Promise.all(sidecars.map((sidecar) => sidecar.terminate()));
  sidecars = [];
  await app.close();
  await ca.close();
  await rm(dir, { recursive: true, force: true });
});

async function identity(workload: string) {
  const tokenFile = join(dir, `${workload}.token`);
  await writeFile(tokenFile, await ca.tokens.mint({ spiffeId: testId(workload) }));
  return { trustDomain: 'test.local', ca: { address: ca.endpoint.address, trustBundleFile: join(dir, 'root-cert.pem') }, bootstrapTokenFile: tokenFile };
}

/** backend (inbound STRICT mTLS to the app) and frontend (outbound to backend over mTLS). */
async function startPair(): Promise<{ frontend: SidecarProcess; backend: SidecarProcess }> {
  // A 2 s idle timeout makes the backend announce `Keep-Alive: timeout=2`, which undici (2 s margin) takes as
  // "do not reuse": every request through the mesh opens a new mTLS connection, so a certificate
  // that was not rotated, or not used at once, would fail requests.
  const backend = await spawnSidecar({
    workload: 'backend',
    identity: await identity('backend'),
    inbound: { port: 0, appPort: app.port },
    limits: { idleTimeoutMs: 2000 },
    accessLog: { mode: 'off' },
  });
  sidecars.push(backend);
  const frontend = await spawnSidecar({
    workload: 'frontend',
    identity: await identity('frontend'),
    outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: testId('backend') }] },
    accessLog: { mode: 'off' },
  });
  sidecars.push(frontend);
  return { frontend, backend };
}

async function certs(sidecar: SidecarProcess): Promise<Certs> {
  return JSON.parse((await request(sidecar.adminPort, { path: '/certs' })).body) as Certs;
}

/** Which frontend certificate the app saw (the Hash in x-forwarded-client-cert). */
async function clientCertificateSeen(frontend: SidecarProcess): Promise<string> {
  const reply = await request(frontend.outboundPort, { headers: { host: 'backend' } });
  const seen = JSON.parse(reply.body) as EchoReply;
  const xfcc = seen.headers.find(([name]) => name === 'x-forwarded-client-cert')?.[1] ?? '';
  return /Hash=([0-9a-f]+)/.exec(xfcc)?.[1] ?? 'none';
}

/** Load until `during` settles: 4 workers at 25 requests/s each, steady traffic the 2-core machine keeps up with. */
async function underLoad(frontend: SidecarProcess, during: () => Promise<void>) {
  const stop = new AbortController();
  const traffic = runHey(['-z', '600s', '-c', '4', '-q', '25', '-host', 'backend', `http://127.0.0.1:${frontend.outboundPort}/`], 660_000, stop.signal);
  try {
    await during();
  } finally {
    stop.abort();
  }
  return traffic;
}

const rotations = async (sidecar: SidecarProcess): Promise<number> => (await certs(sidecar)).rotations;
const roots = async (sidecar: SidecarProcess): Promise<string[]> => (await certs(sidecar)).trustBundle.map((root) => root.sha256);

describe('mTLS certificate rotation under load', () => {
  it('rotates 1-minute certificates at least twice on both sidecars under traffic, with zero failed requests', async () => {
    const { frontend, backend } = await startPair();
    const clientCertificates = new Set<string>();
    const result = await underLoad(frontend, async () => {
      await eventually(
        async () => {
          clientCertificates.add(await clientCertificateSeen(frontend));
          return Math.min(await rotations(frontend), await rotations(backend));
        },
        (fewest) => fewest >= 2 && clientCertificates.size >= 3,
        240_000,
      );
    });
    const [front, back] = await Promise.all([certs(frontend), certs(backend)]);
    process.stdout.write(
      `rotation under load: statuses=${JSON.stringify(result.statuses)} errors=${result.errors.length} rotations frontend=${front.rotations} backend=${back.rotations} client certificates seen by the app=${clientCertificates.size}\n`,
    );
    expect(clientCertificates.has('none')).toBe(false);
    expect(clientCertificates.size).toBeGreaterThanOrEqual(3);
    expect(result.errors).toEqual([]);
    expect(Object.keys(result.statuses)).toEqual(['200']);
    // Traffic ran throughout (how much depends on the machine; the point is that none failed).
    expect(result.statuses['200']).toBeGreaterThan(1000);
    expect(front.rotations).toBeGreaterThanOrEqual(2);
    expect(back.rotations).toBeGreaterThanOrEqual(2);
  }, 400_000);

  it('rotates the CA root with an overlap (add, switch signing, remove the old) with zero failed requests', async () => {
    const { frontend, backend } = await startPair();
    const oldRoot = ca.ca.trustBundlePems[0] as string;
    const newRoot = throwawayRoot('weft root CA 2');
    const newFingerprint = new X509Certificate(newRoot.certificatePem).fingerprint256;
    const result = await underLoad(frontend, async () => {
      // Traffic flows through the pair before the first step.
      expect((await request(frontend.outboundPort, { headers: { host: 'backend' } })).status).toBe(200);
      ca.ca.addRoot(newRoot.certificatePem);
      // Every sidecar learns the new root at its next renewal, before the CA signs with it.
      for (const sidecar of [frontend, backend]) await eventually(() => roots(sidecar), (seen) => seen.includes(newFingerprint), 120_000);
      const switchedAt = await Promise.all([rotations(frontend), rotations(backend)]);
      ca.ca.useSigning(newRoot);
      // Two renewals after the switch: the second one began after it, so both certificates in use are from the new root.
      for (const [index, sidecar] of [frontend, backend].entries()) {
        await eventually(() => rotations(sidecar), (count) => count >= switchedAt[index]! + 2, 180_000);
      }
      ca.ca.removeRoot(oldRoot);
      // Each sidecar drops the old root at its next renewal; traffic keeps flowing with the new root alone.
      for (const sidecar of [frontend, backend]) expect(await eventually(() => roots(sidecar), (seen) => seen.length === 1, 120_000)).toEqual([newFingerprint]);
      expect((await request(frontend.outboundPort, { headers: { host: 'backend' } })).status).toBe(200);
    });
    process.stdout.write(`root rotation under load: statuses=${JSON.stringify(result.statuses)} errors=${result.errors.length}\n`);
    expect(result.errors).toEqual([]);
    expect(Object.keys(result.statuses)).toEqual(['200']);
  }, 600_000);
});
