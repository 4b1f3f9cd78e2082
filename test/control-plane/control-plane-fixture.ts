// Starts a real control plane (file store, gRPC and admin on loopback ports chosen by the OS)
// and real sidecar discovery clients against it. As in production, the gRPC port is mutual TLS
// (the control plane's certificate and each sidecar's, from one throwaway CA per test file, so a
// control plane restarted on the same port is trusted by the sidecars it had) and policies are
// checked by the Rego engine. No test here runs the gRPC port in plaintext: none has plaintext for
// its subject.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { AdminTokens } from '../../control-plane/admin/admin-tokens.js';
import { CONTROL_PLANE_TLS_NAME } from '../../control-plane/api/ca-contract.js';
import { parseWorkloadId, workloadId, type WorkloadId } from '../../control-plane/api/spiffe-id.js';
import type { AuditEntry } from '../../control-plane/ca/audit-log.js';
import { controlPlaneServerCredentials } from '../../control-plane/ca/ca-server-credentials.js';
import { CA_FILES } from '../../control-plane/ca/ca-directory.js';
import { CertificateAuthority, type CaKeyPair } from '../../control-plane/ca/certificate-authority.js';
import { forgePublicKey } from '../../control-plane/ca/certificate-builder.js';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/control-plane.js';
import type { EndpointDirectory } from '../../control-plane/distribution/endpoint-directory.js';
import { policyChecker } from '../../control-plane/resources/rego-policy-check.js';
import { tlsPeerIdentity } from '../../control-plane/distribution/sidecar-identity.js';
import { FileStore } from '../../control-plane/store/file-store.js';
import { SidecarDiscoveryClient, type DiscoveryClientOptions } from '../../proxy/xds/discovery-client.js';
import type { Snapshot } from '../../proxy/xds/snapshot.js';
import { SnapshotHolder } from '../../proxy/xds/snapshot-holder.js';
import { controlPlaneCredentials } from '../../proxy/tls/ca-client.js';
import { throwawayRoot } from '../helpers/throwaway-ca.js';

export const TRUST_DOMAIN = 'weft.test';

let testRoot: CaKeyPair | undefined;
let testCa: CertificateAuthority | undefined;
/** The throwaway CA of this test file (made on first use). */
function meshCa(): CertificateAuthority {
  if (testCa === undefined) {
    testRoot = throwawayRoot('control-plane tests root');
    testCa = new CertificateAuthority({ trustDomain: TRUST_DOMAIN, signing: testRoot, trustBundlePems: [testRoot.certificatePem] });
  }
  return testCa;
}

let testCaDir: Promise<string> | undefined;
/** The test CA as a `--plugin-ca` directory, so a spawned control plane signs with it (made on first use). */
export function testCaDirectory(): Promise<string> {
  testCaDir ??= (async () => {
    meshCa();
    const dir = await mkdtemp(join(tmpdir(), 'weft-test-ca-'));
    await writeFile(join(dir, CA_FILES.certificate), testRoot!.certificatePem);
    await writeFile(join(dir, CA_FILES.key), testRoot!.privateKeyPem, { mode: 0o600 });
    await writeFile(join(dir, CA_FILES.bundle), testRoot!.certificatePem);
    return dir;
  })();
  return testCaDir;
}

/** TLS server credentials of a control plane of the test CA, and how to stop renewing them. */
export function controlPlaneTls(): { credentials: ServerCredentials; close: () => void } {
  return controlPlaneServerCredentials(meshCa());
}

const clientCertificates = new Map<string, { privateKeyPem: string; chainPems: readonly string[] }>();
/** Channel credentials proving `id` (a certificate of the test CA) and checking the control plane's identity. */
export function sidecarCredentials(target: string, id: WorkloadId): ChannelCredentials {
  let issued = clientCertificates.get(id.uri);
  if (issued === undefined) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    issued = { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), chainPems: meshCa().issueForKey(forgePublicKey(privateKey), id).chainPems };
    clientCertificates.set(id.uri, issued);
  }
  const endpoint = { address: target, serverSpiffeId: `spiffe://${TRUST_DOMAIN}/ns/weft-system/sa/weft-control-plane` };
  return controlPlaneCredentials(endpoint, meshCa().trustBundlePems, { kind: 'certificate', ...issued });
}

/** gRPC channel options a client of the test control plane needs: the name its certificate carries. */
export const controlPlaneChannelOptions = { 'grpc.ssl_target_name_override': CONTROL_PLANE_TLS_NAME };

export async function controlPlaneOn(
  dir: string,
  options: { grpcPort?: number; resyncHold?: { afterConnectMs: number; afterStartMs: number }; endpoints?: EndpointDirectory } = {},
): Promise<RunningControlPlane & { logs: string[]; audit: AuditEntry[]; adminHeaders: Record<'read' | 'write', Record<string, string>> }> {
  const logs: string[] = [];
  const audit: AuditEntry[] = [];
  const tokens = await AdminTokens.open(await mkdtemp(join(tmpdir(), 'weft-admin-')));
  const adminHeaders = await adminTokenHeaders(tokens.files);
  const tls = controlPlaneTls();
  const running = await startControlPlane({
    store: new FileStore(dir, policyChecker),
    ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
    trustDomain: TRUST_DOMAIN,
    grpc: { host: '127.0.0.1', port: options.grpcPort ?? 0, credentials: tls.credentials, peerIdentity: tlsPeerIdentity },
    admin: { host: '127.0.0.1', port: 0, tokens, audit: (entry) => audit.push(entry) },
    // Pushed at once: these tests check what is sent, not how a restarted replica waits.
    resyncHold: options.resyncHold ?? { afterConnectMs: 0, afterStartMs: 0 },
    log: (line) => logs.push(line),
  });
  const close = running.close.bind(running);
  running.close = async () => {
    tls.close();
    await close();
  };
  return Object.assign(running, { logs, audit, adminHeaders });
}

/** The identity a test sidecar proves: its node ID when the test CA can vouch for it, else its workload's. */
function certificateIdentity(nodeId: string, workload: string): WorkloadId {
  try {
    const id = parseWorkloadId(nodeId);
    if (id.trustDomain === TRUST_DOMAIN) return id;
  } catch {
    // A node ID the test makes malformed on purpose: the certificate names the workload instead.
  }
  return workloadId({ trustDomain: TRUST_DOMAIN, namespace: 'default', serviceAccount: workload });
}

export interface TestSidecar<C> {
  client: SidecarDiscoveryClient<C>;
  holder: SnapshotHolder<C>;
  applied: { snapshot: Snapshot; source: string }[];
  rejected: { version: string; error: Error }[];
}

/** A discovery client for `workload`; over mutual TLS with a certificate of its node ID. */
export function sidecar<C = null>(
  target: string,
  workload: string,
  extra: Partial<DiscoveryClientOptions<C>> & { serviceAccount?: string } = {},
): TestSidecar<C> {
  const holder = new SnapshotHolder<C>();
  const { serviceAccount, ...rest } = extra;
  const node = rest.node ?? { id: `spiffe://${TRUST_DOMAIN}/ns/default/sa/${serviceAccount ?? workload}`, workload, namespace: 'default' };
  const client = new SidecarDiscoveryClient<C>({
    target,
    credentials: () => sidecarCredentials(target, certificateIdentity(node.id, workload)),
    holder,
    compile: () => null as C,
    backoff: { initialMs: 50, maxMs: 400 },
    ...rest,
    node,
    channelOptions: { ...controlPlaneChannelOptions, ...rest.channelOptions },
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
