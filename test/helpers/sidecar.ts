// Sidecars for tests: in-process (fast, for most behaviour) or as a `weft proxy` child process
// (for the CLI, signals and memory), always on loopback port 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { stringify } from 'yaml';
import { validateConfig } from '../../proxy/config/load-config.js';
import type { SidecarConfig } from '../../proxy/config/types.js';
import { Sidecar, type SidecarOptions } from '../../proxy/sidecar.js';
import { weftBin } from './weft-cli.js';

export interface InProcessSidecar {
  readonly sidecar: Sidecar;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number;
  /** Access-log lines written so far. */
  readonly logLines: () => Record<string, unknown>[];
  stop(): Promise<void>;
}

/** A config with test defaults: ports 0, access log on; `overrides` merged on top. */
export function testConfig(overrides: Record<string, unknown>): Record<string, unknown> {
  return { workload: 'test-app', admin: { port: 0 }, accessLog: { mode: 'on' }, ...overrides };
}

export async function startSidecar(overrides: Record<string, unknown>): Promise<InProcessSidecar> {
  return startInProcess(validateConfig(testConfig(overrides)));
}

/** Starts a sidecar in this process with its access log captured; `onStop` runs after it drained. */
export async function startInProcess(config: SidecarConfig, options: Omit<SidecarOptions, 'accessLogOut'> = {}, onStop?: () => void): Promise<InProcessSidecar> {
  const log = new PassThrough();
  let text = '';
  log.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const sidecar = await Sidecar.start(config, { ...options, accessLogOut: log });
  return {
    sidecar,
    inboundPort: sidecar.addresses.inbound?.port ?? 0,
    outboundPort: sidecar.addresses.outbound?.port ?? 0,
    adminPort: sidecar.addresses.admin.port,
    logLines: () => {
      sidecar.flushLogs();
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    async stop() {
      await sidecar.drain();
      onStop?.();
    },
  };
}

export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number;
  stderr(): string;
  /** Resident set size in bytes, read from /proc. */
  rss(): Promise<number>;
  /** Sends SIGTERM and resolves with the exit code. */
  terminate(): Promise<number | null>;
  exited: Promise<number | null>;
}

export async function writeConfigFile(config: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-proxy-'));
  const file = join(dir, 'sidecar.yaml');
  await writeFile(file, stringify(config));
  return file;
}

/**
 * Runs `node [nodeArgs] weft proxy --config FILE` and waits for its ready line (`node`: another
 * runtime's binary; `bin`: another build's dist/deploy/cli/weft.js).
 */
export async function spawnSidecar(
  overrides: Record<string, unknown>,
  nodeArgs: readonly string[] = [],
  node: string = process.execPath,
  bin: string = weftBin,
): Promise<SidecarProcess> {
  const file = await writeConfigFile(testConfig(overrides));
  const child = spawn(node, [...nodeArgs, bin, 'proxy', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const line = /weft proxy: ready .*/.exec(stderr);
      if (line !== null) resolve(line[0]);
    });
    void exited.then((code) => reject(new Error(`weft proxy exited with ${code}: ${stderr}`)));
  });
  const port = (name: string) => Number(new RegExp(`${name}=[^ ]*:(\\d+)`).exec(ready)?.[1] ?? 0);
  return {
    child,
    inboundPort: port('inbound'),
    outboundPort: port('outbound'),
    adminPort: port('admin'),
    stderr: () => stderr,
    rss: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    terminate: () => {
      child.kill('SIGTERM');
      return exited;
    },
    exited,
  };
}
