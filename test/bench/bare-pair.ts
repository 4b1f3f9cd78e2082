// The Node floor's processes for benchmarks: a bare pair of hops with no weft code
// (bare-http-hop.mjs, bare-h2-hop.mjs), front -> mutual TLS -> back -> the app, with certificates
// from the same CA as the sidecars it is set beside. Shared by bench:mesh and bench:inference.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestCaServer } from '../helpers/ca-server.js';
import { issueWorkload, testId } from '../helpers/throwaway-ca.js';

// Compiled to dist/bench/test/bench/; the bare hops run from their source.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** Node flags for the bare hops (BARE_NODE_OPTIONS, e.g. --cpu-prof for profiling). */
const bareNodeArgs = (process.env.BARE_NODE_OPTIONS ?? '').split(' ').filter(Boolean);

export interface Pems {
  readonly dir: string;
  readonly backend: { CERT: string; KEY: string; CA: string };
  readonly frontend: { CERT: string; KEY: string; CA: string };
}

/** Certificates for the back (as `backend`) and the front (as `frontend`) from `ca`, as files in `dir`. */
export async function writePems(ca: TestCaServer, dir: string): Promise<Pems> {
  const files = async (workload: string) => {
    const credentials = await issueWorkload(ca.ca, testId(workload));
    const [cert, key, bundle] = ['cert', 'key', 'ca'].map((kind) => join(dir, `${workload}-${kind}.pem`)) as [string, string, string];
    await writeFile(cert, credentials.chainPems.join(''));
    await writeFile(key, credentials.privateKeyPem, { mode: 0o600 });
    await writeFile(bundle, credentials.trustBundlePems.join(''));
    return { CERT: cert, KEY: key, CA: bundle };
  };
  return { dir, backend: await files('backend'), frontend: await files('frontend') };
}

/** Starts `node test/bench/FILE` with `env` and resolves once it prints its port; `children` gets the process to stop. */
async function bareHop(file: string, env: Record<string, string>, children: ChildProcess[]): Promise<{ port: number; pid: number }> {
  const child = spawn(process.execPath, [...bareNodeArgs, join(repoRoot, 'test/bench', file)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const [line] = await Promise.race([
    createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((next) => [next.value as string]),
    new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)))),
  ]);
  return { port: Number(line), pid: child.pid! };
}

/** A bare pair in front of `appUrl`: the front's port and both hops' pids (their processes go into `children`). */
export async function barePair(file: string, appUrl: string, pems: Pems, backScheme: string, children: ChildProcess[]): Promise<{ port: number; hops: number[] }> {
  const back = await bareHop(file, { ROLE: 'back', UPSTREAM: appUrl, ...pems.backend }, children);
  const front = await bareHop(file, { ROLE: 'front', UPSTREAM: `${backScheme}://127.0.0.1:${back.port}`, PEER_ID: testId('backend'), ...pems.frontend }, children);
  return { port: front.port, hops: [back.pid, front.pid] };
}
