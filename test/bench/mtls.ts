// bench:mtls — what mutual TLS between sidecars costs. hey drives the same traffic through a pair
// of `weft proxy` processes (frontend outbound -> backend inbound -> nginx serving 1 KiB), once in
// plaintext and once over mTLS (certificates from a CA in this process), side by side in one run:
// with keep-alive connections, and with a new connection per request (the backend announces
// `Keep-Alive: timeout=2`, which undici does not reuse), where every request pays a handshake.
// Every target is measured BENCH_ROUNDS times in turn and its best round kept.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { sidecarIdentityConfig, startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { runHey, type HeyResult } from '../helpers/hey.js';
import { startNginx, staticRoot, type Nginx } from '../helpers/nginx.js';
import { testId } from '../helpers/throwaway-ca.js';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);

// Compiled to dist/bench/test/bench/ (see the bench:mtls script).
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const weftBin = join(repoRoot, 'dist/deploy/cli/weft.js');
const dir = mkdtempSync(join(tmpdir(), 'weft-bench-mtls-'));
const children: ChildProcess[] = [];

async function sidecar(name: string, config: Record<string, unknown>): Promise<Record<string, number>> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ admin: { port: 0 }, accessLog: { mode: 'off' }, ...config }));
  const child = spawn(process.execPath, [weftBin, 'proxy', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  const ready = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const line = /weft proxy: ready .*/.exec(stderr);
      if (line !== null) resolve(line[0]);
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${stderr}`)));
  });
  const port = (listener: string) => Number(new RegExp(`${listener}=[^ ]*:(\\d+)`).exec(ready)?.[1]);
  return { inbound: port('inbound'), outbound: port('outbound') };
}

async function pair(ca: TestCaServer, upstreamPort: number, name: string, mtls: boolean, reuse: boolean): Promise<number> {
  const backend = await sidecar(`${name}-backend`, {
    workload: 'backend',
    ...(mtls ? { identity: await sidecarIdentityConfig(ca, dir, 'backend') } : {}),
    inbound: { port: 0, appPort: upstreamPort },
    ...(reuse ? {} : { limits: { idleTimeoutMs: 2000 } }),
  });
  const frontend = await sidecar(`${name}-frontend`, {
    workload: 'frontend',
    ...(mtls ? { identity: await sidecarIdentityConfig(ca, dir, 'frontend') } : {}),
    outbound: {
      port: 0,
      clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inbound }], ...(mtls ? { spiffeId: testId('backend') } : {}) }],
    },
  });
  return frontend.outbound as number;
}

function row(name: string, result: HeyResult): string {
  const failed = Object.entries(result.statuses).filter(([code]) => code !== '200').reduce((sum, [, count]) => sum + count, 0) + result.errors.length;
  return `${name.padEnd(28)} ${result.requestsPerSecond.toFixed(0).padStart(8)} ${result.p50Ms.toFixed(2).padStart(8)} ${result.p99Ms.toFixed(2).padStart(8)} ${String(failed).padStart(7)}`;
}

async function main(): Promise<void> {
  const files = staticRoot({ 'index.html': 'x'.repeat(1023) + '\n' });
  const upstream: Nginx = await startNginx({ workers: 1, server: `location / { root ${files}; }` });
  const ca = await startCaServer();
  const targets: [string, number][] = [
    ['plaintext keep-alive', await pair(ca, upstream.port, 'plain-reuse', false, true)],
    ['mTLS keep-alive', await pair(ca, upstream.port, 'mtls-reuse', true, true)],
    ['plaintext new connection', await pair(ca, upstream.port, 'plain-new', false, false)],
    ['mTLS new connection', await pair(ca, upstream.port, 'mtls-new', true, false)],
  ];
  const best = new Map<string, HeyResult>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [name, port] of targets) {
        const result = await runHey(['-z', `${seconds}s`, '-c', String(connections), '-host', 'backend', `http://127.0.0.1:${port}/`], (seconds + 30) * 1000);
        const previous = best.get(name);
        if (previous === undefined || result.requestsPerSecond > previous.requestsPerSecond) best.set(name, result);
      }
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    upstream.stop();
    await ca.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`hey -z ${seconds}s -c ${connections}, best of ${rounds} rounds, 1 KiB responses\n`);
  process.stdout.write(`${'target'.padEnd(28)} ${'rps'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'failed'.padStart(7)}\n`);
  for (const [name] of targets) process.stdout.write(`${row(name, best.get(name) as HeyResult)}\n`);
  const ratio = (a: string, b: string, key: 'requestsPerSecond' | 'p99Ms') => ((best.get(a) as HeyResult)[key] / (best.get(b) as HeyResult)[key]).toFixed(2);
  process.stdout.write(
    `mtls ratios: rps_keepalive=${ratio('mTLS keep-alive', 'plaintext keep-alive', 'requestsPerSecond')} p99_keepalive=${ratio('mTLS keep-alive', 'plaintext keep-alive', 'p99Ms')} ` +
      `rps_new_connection=${ratio('mTLS new connection', 'plaintext new connection', 'requestsPerSecond')} p99_new_connection=${ratio('mTLS new connection', 'plaintext new connection', 'p99Ms')}\n`,
  );
}

await main();
