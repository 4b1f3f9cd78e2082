// npm run bench:push — convergence of policy pushes at mesh scale. One real control-plane
// process (file store); N simulated sidecars, each a grpc-js discovery client on its own
// connection with its own SPIFFE identity, in this process. A policy change is applied through
// the admin API (as `weft apply` does) 20 times; each time we measure apply -> every sidecar has
// applied and ACKed the new snapshot. The baseline, in the same run, is the same with one
// sidecar: the ratio shows what fan-out costs. Ends with
//   push bench: sidecars=200 p50_ms=A p99_ms=B cp_rss_mb=C
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { SidecarDiscoveryClient } from '../../proxy/xds/discovery-client.js';
import { SnapshotHolder } from '../../proxy/xds/snapshot-holder.js';

const SIDECARS = Number(process.env.PUSH_BENCH_SIDECARS ?? 200);
const CHANGES = Number(process.env.PUSH_BENCH_CHANGES ?? 20);
const TIMEOUT_MS = 30_000;
const weftBin = fileURLToPath(new URL('../../deploy/cli/weft.js', import.meta.url));

const name = (i: number) => `sc-${String(i).padStart(3, '0')}`;

function meshYaml(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const calls = [1, 2, 3].map((d) => name((i + d) % count)).filter((n) => n !== name(i));
    docs.push(`apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: ${name(i)}, labels: { bench: push } }
spec:
  serviceAccount: ${name(i)}
  ports: [{ port: 8080, protocol: http }]
  outbound: { services: [${[...new Set(calls)].join(', ')}] }
`);
  }
  return docs.join('---\n');
}

const REGO = `package weft.authz

default allow := false

allow if input.attributes.source.principal in data.allowed
`;

function policyYaml(change: number): string {
  return `apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: bench-authz }
spec:
  modules: [{ file: authz.rego }]
  targets: { workloadSelector: { matchLabels: { bench: push } } }
  data:
    change: ${change}
    allowed: ["spiffe://weft.local/ns/default/sa/${name(change % SIDECARS)}"]
`;
}

async function until(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function rssMb(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The control plane's own histograms: convergence (accepted -> all ACKs) and push time, in ms. */
async function controlPlaneView(admin: string, authorization: string): Promise<{ convergenceMeanMs: number; pushMeanMs: number; pushes: number }> {
  const families = parsePrometheusTextFormat(await (await fetch(`${admin}/metrics`, { headers: { authorization } })).text());
  const mean = (name: string) => {
    const sample = families.find((f) => f.name === name)?.metrics[0];
    return (Number(sample?.sum) / Number(sample?.count)) * 1000;
  };
  const pushes = Number(families.find((f) => f.name === 'weft_cp_pushes_total')?.metrics[0]?.value);
  return { convergenceMeanMs: mean('weft_cp_convergence_seconds'), pushMeanMs: mean('weft_cp_push_duration_seconds'), pushes };
}

async function run(sidecarCount: number): Promise<{ latencies: number[]; rss: { now: number; peak: number }; controlPlane: Awaited<ReturnType<typeof controlPlaneView>> }> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-push-bench-'));
  await writeFile(join(dir, 'mesh.yaml'), meshYaml(sidecarCount));
  await writeFile(join(dir, 'authz.rego'), REGO);
  await writeFile(join(dir, 'policy.yaml'), policyYaml(0));
  // PUSH_BENCH_CP_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles the control plane.
  const nodeArgs = (process.env.PUSH_BENCH_CP_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  const cp = spawn(process.execPath, [...nodeArgs, weftBin, 'control-plane', '--store', `file:${dir}`, '--grpc-port', '0', '--admin-port', '0', '--state-dir', join(dir, '.state'), '--trust-domain', 'weft.local', '--plaintext'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  cp.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  cp.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const clients: SidecarDiscoveryClient<null>[] = [];
  try {
    await until(() => output.includes('discovery on') || cp.exitCode !== null, 'the control plane');
    if (cp.exitCode !== null) throw new Error(`control plane exited:\n${output}`);
    const record = JSON.parse(await readFile(join(dir, '.state', 'control-plane.json'), 'utf8')) as { grpc: string; admin: string; adminTokens: { write: string } };
    const authorization = `Bearer ${(await readFile(record.adminTokens.write, 'utf8')).trim()}`;

    const applied = new Array<number>(sidecarCount).fill(-1);
    for (let i = 0; i < sidecarCount; i++) {
      const holder = new SnapshotHolder<null>();
      const client = new SidecarDiscoveryClient<null>({
        target: record.grpc,
        credentials: credentials.createInsecure(),
        node: { id: `spiffe://weft.local/ns/default/sa/${name(i)}`, workload: name(i), namespace: 'default' },
        holder,
        compile: () => null,
        // Each simulated sidecar gets its own HTTP/2 connection, as separate processes would.
        channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
      });
      client.on('applied', (snapshot) => {
        applied[i] = Number(snapshot.policies[0]?.spec.data?.change ?? -1);
      });
      clients.push(client);
      await client.start();
    }
    await until(() => applied.every((c) => c === 0), `${sidecarCount} first snapshots`);

    const latencies: number[] = [];
    for (let change = 1; change <= CHANGES; change++) {
      const started = performance.now();
      const response = await fetch(`${record.admin}/v1/apply`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ files: { 'policy.yaml': policyYaml(change), 'authz.rego': REGO } }),
      });
      if (!response.ok) throw new Error(`apply ${change} refused: ${await response.text()}`);
      await until(() => applied.every((c) => c === change), `convergence of change ${change}`);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { latencies, rss: await rssMb(cp.pid!), controlPlane: await controlPlaneView(record.admin, authorization) };
  } finally {
    for (const client of clients) client.stop();
    // A graceful stop (so `node --cpu-prof` can write the control plane's profile), bounded.
    const exited = new Promise((resolve) => cp.once('exit', resolve));
    cp.kill('SIGTERM');
    const killer = setTimeout(() => cp.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    await rm(dir, { recursive: true, force: true });
  }
}

const baseline = await run(1);
const mesh = await run(SIDECARS);
const row = (label: string, r: { latencies: number[]; rss: { peak: number } }) =>
  `${label.padEnd(14)} p50_ms=${percentile(r.latencies, 50).toFixed(1).padStart(7)} p99_ms=${percentile(r.latencies, 99).toFixed(1).padStart(7)} max_ms=${Math.max(...r.latencies).toFixed(1).padStart(7)} cp_rss_peak_mb=${r.rss.peak.toFixed(1)}`;
console.log(`${CHANGES} policy changes, apply -> all ACKed:`);
console.log(row('1 sidecar', baseline));
console.log(row(`${SIDECARS} sidecars`, mesh));
console.log(
  `control plane's view at ${SIDECARS}: convergence_mean_ms=${mesh.controlPlane.convergenceMeanMs.toFixed(1)} push_mean_ms=${mesh.controlPlane.pushMeanMs.toFixed(1)} pushes=${mesh.controlPlane.pushes}`,
);
console.log(`ratios: p50_vs_1=${(percentile(mesh.latencies, 50) / percentile(baseline.latencies, 50)).toFixed(2)} p99_vs_1=${(percentile(mesh.latencies, 99) / percentile(baseline.latencies, 99)).toFixed(2)}`);
console.log(`push bench: sidecars=${SIDECARS} p50_ms=${percentile(mesh.latencies, 50).toFixed(1)} p99_ms=${percentile(mesh.latencies, 99).toFixed(1)} cp_rss_mb=${mesh.rss.peak.toFixed(1)}`);
process.exit(0);
