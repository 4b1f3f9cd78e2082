// Runs `weft up` as a user would: the built CLI as a child process, in a fresh working directory
// (so .weft/ is new), on a copy of the demo directory (so tests may edit its policies).
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { weftBin } from '../helpers/weft-cli.js';

export const demoDir = fileURLToPath(new URL('../../deploy/local/', import.meta.url));

export interface UpRecord {
  controlPlane: { admin: string; grpc: string; tokenFiles: { read: string; write: string } };
  trustBundle: string;
  dashboard: string;
  workloads: Record<string, { identity: string; app: string; inbound: string; outbound: string; admin: string }>;
}

export interface RunningUp {
  readonly child: ChildProcess;
  readonly cwd: string;
  readonly dir: string;
  output(): string;
  /** Resolves with the output once `pattern` appears after `from` (an output offset). */
  waitFor(pattern: RegExp | string, timeoutMs?: number, from?: number): Promise<string>;
  record(): Promise<UpRecord>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Resolves once `weft up` has printed its whole ready banner (the table, the Try it lines, the
 * dashboard): "mesh ready" is its first line, and the rest may reach the pipe in later chunks.
 */
export function bannerPrinted(up: RunningUp, timeoutMs = 90_000): Promise<string> {
  return up.waitFor(/weft: mesh ready[\s\S]*Ctrl-C stops the mesh\./, timeoutMs);
}

export async function copyOfDemo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-up-dir-'));
  await cp(demoDir, dir, { recursive: true, filter: (source) => !source.endsWith('.ts') });
  return dir;
}

export async function startUp(args: string[], options: { cwd?: string } = {}): Promise<RunningUp> {
  const cwd = options.cwd ?? (await mkdtemp(join(tmpdir(), 'weft-up-cwd-')));
  const child = spawn(process.execPath, [weftBin, 'up', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  const waiters = new Set<() => void>();
  const append = (chunk: string) => {
    output += chunk;
    for (const check of waiters) check();
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr!.setEncoding('utf8').on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    cwd,
    dir: args.find((a) => !a.startsWith('-')) ?? demoDir,
    output: () => output,
    waitFor(pattern, timeoutMs = 60_000, from = 0) {
      return new Promise((resolve, reject) => {
        const matches = () => (typeof pattern === 'string' ? output.indexOf(pattern, from) >= 0 : pattern.test(output.slice(from)));
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms; output:\n${output}`));
        }, timeoutMs);
        const check = () => {
          if (!matches()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(output);
        };
        waiters.add(check);
        check();
        void exited.then(() => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          clearTimeout(timer);
          if (matches()) resolve(output);
          else reject(new Error(`weft up exited before ${String(pattern)}; output:\n${output}`));
        });
      });
    },
    async record() {
      return JSON.parse(await readFile(join(cwd, '.weft', 'up.json'), 'utf8')) as UpRecord;
    },
    exited,
  };
}

/** Every process whose parent is `pid`, from /proc. */
export async function childPids(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) children.push(Number(entry));
  }
  return children;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `weft up` on a fresh copy of the demo for the tests of one file: started before them (once the
 * mesh is ready), stopped after them. The getters are valid inside tests.
 */
export function demoMeshForTests(extraArgs: string[] = []): { up: () => RunningUp; record: () => UpRecord } {
  let up: RunningUp | undefined;
  let record: UpRecord | undefined;
  beforeAll(async () => {
    up = await startUp([await copyOfDemo(), ...extraArgs]);
    await bannerPrinted(up);
    record = await up.record();
  }, 120_000);
  afterAll(async () => {
    if (up !== undefined && up.child.exitCode === null && up.child.signalCode === null) {
      up.child.kill('SIGTERM');
      await up.exited;
    }
  });
  return { up: () => up!, record: () => record! };
}

/** A request through an outbound listener in absolute form, as `curl -x` sends it; with `json`, a POST of it. */
export function viaProxy(outbound: string, url: string, json?: unknown): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  const proxy = new URL(outbound);
  const payload = json === undefined ? undefined : JSON.stringify(json);
  const headers = { host: new URL(url).host, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }) };
  return new Promise((resolve, reject) => {
    const req = request({ host: proxy.hostname, port: proxy.port, method: payload === undefined ? 'GET' : 'POST', path: url, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}
