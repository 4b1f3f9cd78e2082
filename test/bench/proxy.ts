// bench:proxy — wrk against an upstream directly, through one weft sidecar, and through nginx as
// an equivalent keep-alive reverse proxy, side by side in one run. The upstream is nginx serving
// a static 1 KiB file with one worker (light, so it is not the bottleneck). Each target gets the
// same connection count and duration; every target is measured BENCH_ROUNDS times in turn and its best
// round kept, so that noise from other work on the machine hits all three alike.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNginx, staticRoot, type Nginx } from '../helpers/nginx.js';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
// V8's young generation grows to 48 MB under load by default; a sidecar caps it (see proxy/README.md).
const sidecarNodeOptions = process.env.SIDECAR_NODE_OPTIONS ?? '--max-semi-space-size=2';

// Compiled to dist/bench/test/bench/ (see the bench:proxy script).
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const weftBin = join(repoRoot, 'dist/deploy/cli/weft.js');
const dir = mkdtempSync(join(tmpdir(), 'weft-bench-proxy-'));
const children: ChildProcess[] = [];
const nginxes: Nginx[] = [];

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: string;
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value);
  if (match === null) throw new Error(`cannot read latency '${value}'`);
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(match[1]) * scale;
}

function wrk(url: string, duration: number): WrkResult {
  const out = execFileSync('/usr/bin/wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const errors = /Non-2xx or 3xx responses: \d+|Socket errors: .*/.exec(out)?.[0] ?? '';
  return { rps, p50, p99, errors };
}

async function main(): Promise<void> {
  const files = staticRoot({ 'index.html': 'x'.repeat(1023) + '\n' });
  const upstream = await startNginx({ workers: 1, server: `location / { root ${files}; }` });
  nginxes.push(upstream);
  const upstreamPort = upstream.port;
  const proxy = await startNginx({
    workers: cpus().length,
    server: 'location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }',
    http: `upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; }`,
  });
  nginxes.push(proxy);
  const nginxPort = proxy.port;

  const configFile = join(dir, 'sidecar.yaml');
  writeFileSync(configFile, `workload: bench\nadmin: { port: 0 }\naccessLog: { mode: off }\ninbound: { address: 127.0.0.1, port: 0, appPort: ${upstreamPort} }\n`);
  const sidecar = spawn(process.execPath, [...sidecarNodeOptions.split(' ').filter(Boolean), weftBin, 'proxy', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(sidecar);
  const sidecarPort = await new Promise<number>((resolve, reject) => {
    let text = '';
    sidecar.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const port = /inbound=[^ ]*:(\d+)/.exec(text)?.[1];
      if (port !== undefined) resolve(Number(port));
    });
    sidecar.on('exit', () => reject(new Error(`sidecar exited: ${text}`)));
  });

  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${sidecar.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const targets = [
    { name: 'direct (nginx static)', url: `http://127.0.0.1:${upstreamPort}/index.html` },
    { name: 'weft sidecar', url: `http://127.0.0.1:${sidecarPort}/index.html` },
    { name: `nginx proxy (${cpus().length} workers)`, url: `http://127.0.0.1:${nginxPort}/index.html` },
  ];
  for (const target of targets) wrk(target.url, 1);

  const best = new Map<string, WrkResult>();
  let peakRss = 0;
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const sampler = target.name === 'weft sidecar' ? setInterval(() => (peakRss = Math.max(peakRss, rss())), 200) : undefined;
      const result = await new Promise<WrkResult>((resolve) => setImmediate(() => resolve(wrk(target.url, seconds))));
      if (sampler !== undefined) {
        clearInterval(sampler);
        peakRss = Math.max(peakRss, rss());
      }
      if (result.errors !== '') process.stderr.write(`${target.name}: ${result.errors}\n`);
      const previous = best.get(target.name);
      if (previous === undefined || result.rps > previous.rps) best.set(target.name, result);
    }
  }

  const rows = targets.map((t) => ({ name: t.name, ...best.get(t.name)! }));
  console.log(`wrk -t1 -c${connections} -d${seconds}s, 1 KiB responses, best of ${rounds} rounds; sidecar node options: ${sidecarNodeOptions || '(none)'}`);
  console.log(`${'target'.padEnd(28)}${'rps'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}`);
  for (const row of rows) {
    console.log(`${row.name.padEnd(28)}${row.rps.toFixed(0).padStart(10)}${row.p50.toFixed(2).padStart(10)}${row.p99.toFixed(2).padStart(10)}`);
  }
  const [direct, weft, nginx] = [rows[0]!, rows[1]!, rows[2]!];
  console.log(`sidecar peak RSS under load: ${peakRss.toFixed(1)} MB`);
  console.log(
    `proxy ratios: rps_vs_nginx=${(weft.rps / nginx.rps).toFixed(2)} p99_vs_nginx=${(weft.p99 / nginx.p99).toFixed(2)} added_p50_ms=${(weft.p50 - direct.p50).toFixed(2)}`,
  );
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGTERM');
  for (const nginx of nginxes) nginx.stop();
}
