// Runs `weft control-plane` as a real child process of the built CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWeft, weftBin } from '../helpers/weft-cli.js';
import { adminTokenHeaders, testCaDirectory, until } from './control-plane-fixture.js';

export interface ControlPlaneProcess {
  child: ChildProcess;
  grpc: string;
  admin: string;
  /** The roots sidecars trust (null in plaintext). */
  trustBundle: string | null;
  /** The admin API's token files. */
  tokenFiles: { read: string; write: string };
  /** `Authorization` headers with each token. */
  adminHeaders: Record<'read' | 'write', Record<string, string>>;
  /** Arguments that give `weft apply|get|delete|status` this control plane and its write token. */
  adminArgs: string[];
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** One CA encryption key for this test file's etcd replicas (each etcd store gets one key). */
let testKeyFile: Promise<string> | undefined;
function caEncryptionKeyFile(): Promise<string> {
  testKeyFile ??= (async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'weft-key-')), 'key');
    await writeFile(file, randomBytes(32).toString('base64'), { mode: 0o600 });
    return file;
  })();
  return testKeyFile;
}

/**
 * Whose CA secures the gRPC port (mutual TLS either way): `test-ca` (the default) is the test
 * file's throwaway CA, which the `sidecar()` fixture's certificates come from; `own-ca` is the CA
 * the control plane creates (or finds in etcd), for sidecars with bootstrap tokens.
 */
export type ControlPlaneSecurity = 'test-ca' | 'own-ca';

async function securityArgs(security: ControlPlaneSecurity, store: string): Promise<string[]> {
  if (security === 'own-ca') return [];
  return ['--plugin-ca', await testCaDirectory(), ...(store.startsWith('etcd:') ? ['--ca-encryption-key-file', await caEncryptionKeyFile()] : [])];
}

/** `store` is a directory (file store) or an `etcd:` option. */
export async function spawnControlPlane(
  store: string,
  stateDir: string,
  ports: { grpc?: number; admin?: number; security?: ControlPlaneSecurity; args?: readonly string[]; env?: Record<string, string> } = {},
): Promise<ControlPlaneProcess> {
  const security = await securityArgs(ports.security ?? 'test-ca', store);
  const child = spawn(
    process.execPath,
    [weftBin, 'control-plane', '--store', store.startsWith('etcd:') ? store : `file:${store}`, '--grpc-port', String(ports.grpc ?? 0), '--admin-port', String(ports.admin ?? 0), '--state-dir', stateDir, '--trust-domain', 'weft.test', ...security, ...(ports.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...ports.env } },
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A loaded machine may take a while to start a process; a timeout shows what it printed.
  await until(() => output.includes('weft control-plane: discovery on') || child.exitCode !== null, 'the control plane to listen', 30_000).catch((error: Error) => {
    throw new Error(`${error.message}:\n${output}`);
  });
  if (child.exitCode !== null) throw new Error(`control plane exited ${child.exitCode}:\n${output}`);
  const record = JSON.parse(await readFile(join(stateDir, 'control-plane.json'), 'utf8')) as { grpc: string; admin: string; trustBundle: string | null; adminTokens: { read: string; write: string } };
  return {
    child,
    grpc: record.grpc,
    admin: record.admin,
    trustBundle: record.trustBundle,
    tokenFiles: record.adminTokens,
    adminHeaders: await adminTokenHeaders(record.adminTokens),
    adminArgs: ['--control-plane', record.admin, '--token-file', record.adminTokens.write],
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** TLS replicas on one etcd `store`, sharing a CA under one encryption key; each is killed by `defer`. */
export async function tlsReplicas(store: string, defer: (cleanup: () => Promise<void>) => void) {
  const keyFile = await caEncryptionKeyFile();
  return {
    async replica(name: string): Promise<ControlPlaneProcess> {
      const cp = await spawnControlPlane(store, await mkdtemp(join(tmpdir(), `weft-${name}-`)), { security: 'own-ca', args: ['--ca-encryption-key-file', keyFile] });
      defer(() => cp.kill());
      return cp;
    },
    /** A bootstrap token for a sidecar of `workload`, minted from the store. */
    async token(workload: string): Promise<string> {
      return (await runWeft(['token', 'create', '--workload', workload, '--trust-domain', 'weft.test', '--store', store, '--ca-encryption-key-file', keyFile])).stdout.trim();
    },
  };
}
