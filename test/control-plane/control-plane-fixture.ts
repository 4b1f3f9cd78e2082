// Starts a real control plane (file store, gRPC and admin on loopback ports chosen by the OS)
// and real sidecar discovery clients against it.
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, ServerCredentials } from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { AdminTokens } from '../../control-plane/admin/admin-tokens.js';
import type { AuditEntry } from '../../control-plane/ca/audit-log.js';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/control-plane.js';
import type { EndpointDirectory } from '../../control-plane/distribution/endpoint-directory.js';
import type { PolicyChecker } from '../../control-plane/resources/policy-check.js';
import { FileStore } from '../../control-plane/store/file-store.js';
import { SidecarDiscoveryClient, type DiscoveryClientOptions } from '../../proxy/xds/discovery-client.js';
import type { Snapshot } from '../../proxy/xds/snapshot.js';
import { SnapshotHolder } from '../../proxy/xds/snapshot-holder.js';
import { noPolicyChecks } from './policy-checker-fixture.js';

export const TRUST_DOMAIN = 'weft.test';

export async function controlPlaneOn(dir: string, options: { grpcPort?: number; policies?: PolicyChecker; resyncHold?: { afterConnectMs: number; afterStartMs: number }; endpoints?: EndpointDirectory } = {}): Promise<RunningControlPlane & { logs: string[]; audit: AuditEntry[]; adminHeaders: Record<'read' | 'write', Record<string, string>> }> {
  const logs: string[] = [];
  const audit: AuditEntry[] = [];
  const tokens = await AdminTokens.open(await mkdtemp(join(tmpdir(), 'weft-admin-')));
  const adminHeaders = await adminTokenHeaders(tokens.files);
  const running = await startControlPlane({
    store: new FileStore(dir, options.policies ?? noPolicyChecks),
    ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
    trustDomain: TRUST_DOMAIN,
    grpc: { host: '127.0.0.1', port: options.grpcPort ?? 0, credentials: ServerCredentials.createInsecure() },
    admin: { host: '127.0.0.1', port: 0, tokens, audit: (entry) => audit.push(entry) },
    // Pushed at once: these tests check what is sent, not how a restarted replica waits.
    resyncHold: options.resyncHold ?? { afterConnectMs: 0, afterStartMs: 0 },
    log: (line) => logs.push(line),
  });
  return Object.assign(running, { logs, audit, adminHeaders });
}

export interface TestSidecar<C> {
  client: SidecarDiscoveryClient<C>;
  holder: SnapshotHolder<C>;
  applied: { snapshot: Snapshot; source: string }[];
  rejected: { version: string; error: Error }[];
}

export function sidecar<C = null>(
  target: string,
  workload: string,
  extra: Partial<DiscoveryClientOptions<C>> & { serviceAccount?: string } = {},
): TestSidecar<C> {
  const holder = new SnapshotHolder<C>();
  const { serviceAccount, ...rest } = extra;
  const client = new SidecarDiscoveryClient<C>({
    target,
    credentials: credentials.createInsecure(),
    node: { id: `spiffe://${TRUST_DOMAIN}/ns/default/sa/${serviceAccount ?? workload}`, workload, namespace: 'default' },
    holder,
    compile: () => null as C,
    backoff: { initialMs: 50, maxMs: 400 },
    ...rest,
  });
  const test: TestSidecar<C> = { client, holder, applied: [], rejected: [] };
  client.on('applied', (snapshot, source) => test.applied.push({ snapshot, source }));
  client.on('rejected', (version, error) => test.rejected.push({ version, error }));
  return test;
}

export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Cleanups run after each test, last registered first; `started` starts a sidecar and stops it then. */
export function cleanupScope() {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    defer(cleanup: () => Promise<void> | void): void {
      cleanups.push(cleanup);
    },
    started<C>(test: TestSidecar<C>): TestSidecar<C> {
      cleanups.push(() => test.client.stop());
      void test.client.start();
      return test;
    },
  };
}

/** A loopback port nothing listens on (the OS picked it, then it was closed again). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `Authorization` headers with the read and the write token of a control plane's token files. */
export async function adminTokenHeaders(files: Partial<Record<'read' | 'write', string>>): Promise<Record<'read' | 'write', Record<string, string>>> {
  const header = async (file: string | undefined) => ({ authorization: `Bearer ${(await readFile(file!, 'utf8')).trim()}` });
  return { read: await header(files.read), write: await header(files.write) };
}
