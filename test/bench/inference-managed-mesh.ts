// bench:inference's mesh, run as a user runs one: `weft up` on a directory written here. The
// control plane; each model server (`weft sim vllm`) with its own managed sidecar, which scrapes
// its engine and reports the load to the control plane; two callers (idle apps) whose managed
// sidecars reach the servers as two InferencePools (the homogeneous fleet, `llm`, and the one
// with the slow server, `llm-b`) and get every member's load from the control plane's stream.
// The servers' OpenAI API is an Asset only `llm-client` may call (Rego, at each server's
// sidecar). Other callers join with identities from the same control plane (`meshIdentityConfig`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { BootstrapTokens } from '../../control-plane/ca/index.js';
import type { UpRecord } from '../../deploy/local/up-report.js';
import { weftBin } from '../helpers/weft-cli.js';
import type { SimParams } from './inference-trace.js';

const TRUST_DOMAIN = 'cluster.local';
export const CALLER_ACCOUNT = 'llm-client';
export const SERVER_ACCOUNT = 'model-server';
export const serverId = `spiffe://${TRUST_DOMAIN}/ns/default/sa/${SERVER_ACCOUNT}`;
const READY_TIMEOUT_MS = 60_000;

/** A caller's app: accepts connections (weft up waits for that) and sends nothing itself. */
const IDLE_APP = "require('node:http').createServer((request, response) => response.end()).listen(Number(process.env.PORT), '127.0.0.1')";

const ALLOW_CALLERS = `package weft.authz

default allow := false

allow if input.attributes.source.principal in data.allowed
`;

export interface MeshPool {
  /** The pool's name: the host its callers send to. */
  readonly name: string;
  /** Indexes into the fleet. */
  readonly servers: readonly number[];
}

export interface InferenceMeshOptions {
  readonly model: string;
  readonly fleet: readonly SimParams[];
  readonly pools: readonly MeshPool[];
  readonly callers: number;
  readonly prefix: { readonly blockChars: number; readonly blocks: number };
  /** The mesh's resources and state (its throwaway CA among them) go here; the caller removes it. */
  readonly dir: string;
}

export interface InferenceMesh {
  readonly record: UpRecord;
  /** The control plane's state directory (its CA, bootstrap token key). */
  readonly controlPlaneState: string;
  readonly serverName: (index: number) => string;
  readonly callerName: (index: number) => string;
  stop(): Promise<void>;
}

const serverName = (index: number): string => `gpu-${index}`;
const callerName = (index: number): string => `caller-${index}`;
const poolLabel = (pool: MeshPool): string => `in-${pool.name}`;

function resources(options: InferenceMeshOptions): string {
  const documents: unknown[] = [];
  const resource = (kind: string, metadata: Record<string, unknown>, spec: Record<string, unknown>) => documents.push({ apiVersion: 'weft.dev/v1alpha1', kind, metadata, spec });
  options.fleet.forEach((_, index) => {
    const labels = Object.fromEntries(options.pools.filter((pool) => pool.servers.includes(index)).map((pool) => [poolLabel(pool), 'yes']));
    resource('Workload', { name: serverName(index), labels }, { serviceAccount: SERVER_ACCOUNT, ports: [{ port: 8000, protocol: 'http' }], outbound: { services: [] } });
    resource('Asset', { name: `${serverName(index)}-openai`, labels: { api: 'openai' } }, { workload: serverName(index), match: { paths: [{ prefix: '/v1/' }] } });
  });
  for (let index = 0; index < options.callers; index++) {
    resource('Workload', { name: callerName(index) }, { serviceAccount: CALLER_ACCOUNT, ports: [{ port: 8080, protocol: 'http' }], outbound: { services: options.pools.map((pool) => pool.name) } });
  }
  for (const pool of options.pools) {
    resource('InferencePool', { name: pool.name }, {
      selector: { matchLabels: { [poolLabel(pool)]: 'yes' } },
      targetPorts: [8000],
      engine: 'vllm',
      models: [options.model],
      picker: { prefixBlockChars: options.prefix.blockChars, prefixBlocks: options.prefix.blocks },
      failureMode: 'FailOpen',
    });
  }
  resource('AuthorizationPolicy', { name: 'llm-callers' }, {
    modules: [{ name: 'allow-callers.rego', rego: ALLOW_CALLERS }],
    targets: { assetSelector: { matchLabels: { api: 'openai' } } },
    mode: 'enforce',
    data: { allowed: [`spiffe://${TRUST_DOMAIN}/ns/default/sa/${CALLER_ACCOUNT}`] },
  });
  return documents.map((document) => stringify(document)).join('---\n');
}

/** Writes the mesh's directory and runs `weft up` on it until every sidecar serves its snapshot. */
export async function startInferenceMesh(options: InferenceMeshOptions, children: ChildProcess[]): Promise<InferenceMesh> {
  const { dir } = options;
  const meshDir = join(dir, 'mesh');
  const stateDir = join(dir, 'state');
  await mkdir(meshDir, { recursive: true });
  const workloads: Record<string, { command: string[] }> = {};
  await Promise.all(
    options.fleet.map(async (params, index) => {
      // Outside the mesh's directory, whose every YAML file is a resource.
      const profile = join(dir, `${serverName(index)}.yaml`);
      await writeFile(profile, stringify({ seed: index + 1, servers: [{ name: serverName(index), port: 0, model: options.model, ...params }] }));
      workloads[serverName(index)] = { command: ['node', weftBin, 'sim', 'vllm', '--profile', profile, '--port', '${PORT}'] };
    }),
  );
  for (let index = 0; index < options.callers; index++) workloads[callerName(index)] = { command: ['node', '-e', IDLE_APP] };
  await writeFile(join(meshDir, 'weft-up.json'), JSON.stringify({ workloads }, null, 2));
  await writeFile(join(meshDir, 'mesh.yaml'), resources(options));

  const child = spawn(process.execPath, [weftBin, 'up', meshDir, '--state-dir', stateDir, '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`weft up: no "mesh ready" in ${READY_TIMEOUT_MS / 1000} s (logs in ${stateDir}/logs):\n${output.join('\n')}`)), READY_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (!line.startsWith('weft: mesh ready')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`weft up exited with ${code} (logs in ${stateDir}/logs):\n${output.join('\n')}`));
    });
  });
  const record = JSON.parse(await readFile(join(stateDir, 'up.json'), 'utf8')) as UpRecord;
  return {
    record,
    controlPlaneState: join(stateDir, 'control-plane'),
    serverName,
    callerName,
    stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve()).kill('SIGTERM'))),
  };
}

/**
 * The `identity` block of a sidecar started outside `weft up` that joins `mesh` as
 * `serviceAccount`: a bootstrap token of the mesh's control plane (a credential until it expires:
 * mode 0600) as a file in `dir` under `name`, and the mesh's trust bundle.
 */
export async function meshIdentityConfig(mesh: InferenceMesh, dir: string, serviceAccount: string, name: string): Promise<Record<string, unknown>> {
  const tokens = await BootstrapTokens.open(mesh.controlPlaneState);
  const tokenFile = join(dir, `${name}.token`);
  await writeFile(tokenFile, `${await tokens.mint({ spiffeId: `spiffe://${TRUST_DOMAIN}/ns/default/sa/${serviceAccount}` })}\n`, { mode: 0o600 });
  return { trustDomain: TRUST_DOMAIN, serviceAccount, ca: { address: mesh.record.controlPlane.grpc, trustBundleFile: mesh.record.trustBundle }, bootstrapTokenFile: tokenFile };
}
