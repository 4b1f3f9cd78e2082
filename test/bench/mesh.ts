// bench:mesh — what weft's two sidecars cost against the floor Node.js itself sets, side by side
// in one run on loopback (issue 15). The app is nginx serving 1 KiB (HTTP/1.1) and the grpc-js
// echo server on its own thread (gRPC, 100-byte unary calls). Paths:
//   - direct to the app;
//   - weft: two `weft proxy` processes with `weft up`'s Node flags, frontend outbound -> mutual
//     TLS -> backend inbound with a 20-rule Rego policy that allows the calls, access log and
//     metrics on, certificates from a CA in this process;
//   - a bare Node pair, no weft code (test/bench/bare-http-hop.mjs, bare-h2-hop.mjs): the same
//     CA's certificates, TLS 1.3, keep-alive;
//   - for HTTP/1.1 only, an nginx pair (two single-worker nginx, mTLS between) as context.
// Per path: max throughput (HTTP: wrk -t1 -c16; gRPC: 16 calls in flight), best of the rounds;
// then latency at a fixed rate of a third of the bare pair's max, open loop (undici Pool or
// grpc-js, each request scheduled in advance and timed from its schedule), p50/p99 over all
// rounds. Rounds alternate the paths so noise from other work hits all alike. Sidecar CPU per
// request is taken over the fixed-rate runs, RSS (VmRSS) during the throughput runs.
// BENCH_SECOND_NODE=/path/to/bin/node (e.g. Node 24 LTS: `$(bash .ci/node-from-npm.sh 24)/node`)
// adds a weft pair run by that runtime beside the one on this process's Node, in the same rounds,
// and a summary line for each; BENCH_SECOND_BUILD=/path/to/checkout (built: `npm run build`) adds
// that build's weft pair the same way, for before/after figures from one run, and
// SECOND_SIDECAR_NODE_OPTIONS a pair with other Node flags (on its own or with the two above).
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Pool } from 'undici';
import { SIDECAR_NODE_OPTIONS } from '../../deploy/local/up-cli.js';
import { sidecarIdentityConfig, startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { echoClient, echoService } from '../helpers/grpc-echo.js';
import { startNginx, staticRoot, type Nginx } from '../helpers/nginx.js';
import { spawnSidecar, type SidecarProcess } from '../helpers/sidecar.js';
import { weftBin } from '../helpers/weft-cli.js';
import { testId } from '../helpers/throwaway-ca.js';
import { barePair, writePems, type Pems } from './bare-pair.js';
import { cpuMicros, ioSyscalls, loadAverage, openLoop, residentMb, summary, type OpenLoopRun, type Send } from './load.js';
import { callerAuthzPolicy } from './policy-fixture.js';

const quick = process.argv.includes('--quick');
// `--only=grpc` or `--only=http` measures one protocol (for profiling); the summary line needs both.
const only = /^--only=(grpc|http)$/.exec(process.argv.find((arg) => arg.startsWith('--only=')) ?? '')?.[1];
const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 2 : 5));
const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const CONNECTIONS = 16;
const RULES = 20;
const sidecarNodeArgs = (process.env.SIDECAR_NODE_OPTIONS ?? SIDECAR_NODE_OPTIONS).split(' ').filter(Boolean);
const secondNode = process.env.BENCH_SECOND_NODE;
const secondBuild = process.env.BENCH_SECOND_BUILD;
const secondNodeOptions = process.env.SECOND_SIDECAR_NODE_OPTIONS;
const children: ChildProcess[] = [];
const sidecars: SidecarProcess[] = [];
const nginxes: Nginx[] = [];

interface Target {
  readonly name: string;
  readonly send: Send;
  /** Max throughput of one round, requests/s. */
  readonly throughput: (duration: number) => Promise<number>;
  /** The proxy processes on this path (weft's sidecars, the bare hops), whose CPU and RSS are measured. */
  readonly hops: readonly number[];
  readonly runs: OpenLoopRun[];
  rps: number;
  cpuMicros: number;
  /** Read and write system calls of its proxies over the fixed-rate runs. */
  syscalls: number;
  rssMb: number;
  anonMb: number;
}

function target(name: string, send: Send, throughput: (duration: number) => Promise<number>, hops: readonly number[]): Target {
  return { name, send, throughput, hops, runs: [], rps: 0, cpuMicros: 0, syscalls: 0, rssMb: 0, anonMb: 0 };
}

async function wrk(port: number, duration: number): Promise<number> {
  const { stdout } = await promisify(execFile)('/usr/bin/wrk', ['-t1', `-c${CONNECTIONS}`, `-d${duration}s`, '-H', 'Host: backend', `http://127.0.0.1:${port}/`]);
  if (/Non-2xx|Socket errors/.test(stdout)) throw new Error(`wrk saw errors on port ${port}:\n${stdout}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)![1]);
}

function httpTarget(name: string, port: number, hops: readonly number[] = []): Target {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS });
  const send: Send = (done) =>
    pool.request({ method: 'GET', path: '/', headers: { host: 'backend' } }, (error, response) => {
      if (error !== null) return done(error.message);
      response.body.dump().then(() => done(response.statusCode === 200 ? undefined : response.statusCode), () => done('body'));
    });
  return target(name, send, (duration) => wrk(port, duration), hops);
}

const payload = Buffer.alloc(100, 0x61);
const raw = (buffer: Buffer): Buffer => buffer;

function grpcTarget(name: string, port: number, hops: readonly number[] = []): Target {
  const client = echoClient(port, 'backend');
  const send: Send = (done) => client.makeUnaryRequest(echoService.Unary.path, raw, raw, payload, (error) => done(error?.code));
  const throughput = async (duration: number): Promise<number> => {
    const until = performance.now() + duration * 1000;
    let calls = 0;
    const caller = async (): Promise<void> => {
      while (performance.now() < until) {
        await new Promise<void>((resolve, reject) => send((failure) => (failure === undefined ? resolve() : reject(new Error(`${name}: call ended with ${failure}`)))));
        calls++;
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: CONNECTIONS }, caller));
    return calls / ((performance.now() - start) / 1000);
  };
  return target(name, send, throughput, hops);
}

/** Two single-worker nginx, mTLS between (the back verifies the front's certificate). */
async function nginxPair(appPort: number, pems: Pems): Promise<number> {
  const keepAlive = 'proxy_http_version 1.1; proxy_set_header Connection "";';
  const back = await startNginx({
    workers: 1,
    listen: 'ssl',
    http: `upstream app { server 127.0.0.1:${appPort}; keepalive 32; }`,
    server: `ssl_certificate ${pems.backend.CERT}; ssl_certificate_key ${pems.backend.KEY}; ssl_protocols TLSv1.3;
      ssl_client_certificate ${pems.backend.CA}; ssl_verify_client on; location / { proxy_pass http://app; ${keepAlive} }`,
  });
  nginxes.push(back);
  // nginx checks a server certificate against a host name only; SPIFFE certificates carry a URI.
  const front = await startNginx({
    workers: 1,
    http: `upstream back { server 127.0.0.1:${back.port}; keepalive 32; }`,
    server: `location / { proxy_pass https://back; ${keepAlive} proxy_ssl_certificate ${pems.frontend.CERT};
      proxy_ssl_certificate_key ${pems.frontend.KEY}; proxy_ssl_protocols TLSv1.3; proxy_ssl_session_reuse on; }`,
  });
  nginxes.push(front);
  return front.port;
}

/** The version `node` reports, e.g. v24.11.0. */
async function nodeVersion(node: string): Promise<string> {
  return (await promisify(execFile)(node, ['--version'])).stdout.trim();
}

/** The second weft the run measures beside its own (another runtime, another build), if any. */
interface SecondWeft {
  readonly node: string;
  readonly bin: string;
  readonly nodeArgs: readonly string[];
  /** How its rows and summary line are named. */
  readonly label: string;
}

async function secondWeft(): Promise<SecondWeft | undefined> {
  if (secondNode === undefined && secondBuild === undefined && secondNodeOptions === undefined) return undefined;
  const node = secondNode ?? process.execPath;
  const nodeArgs = secondNodeOptions === undefined ? sidecarNodeArgs : secondNodeOptions.split(' ').filter(Boolean);
  const label = [await nodeVersion(node), secondBuild, secondNodeOptions].filter((part) => part !== undefined).join(' ');
  return { node, bin: secondBuild === undefined ? weftBin : join(secondBuild, 'dist/deploy/cli/weft.js'), nodeArgs, label };
}

/** Two `weft proxy` processes as `weft up` runs them; returns [backend, frontend]. */
async function weftPair(ca: TestCaServer, dir: string, appPort: number, kind: 'grpc' | 'http', second?: SecondWeft): Promise<[SidecarProcess, SidecarProcess]> {
  const identity = (workload: string): Promise<Record<string, unknown>> => sidecarIdentityConfig(ca, dir, workload, `${kind}-${workload}-${second === undefined ? 'own' : 'second'}`);
  const caller = { principal: testId('frontend'), pathPrefix: kind === 'grpc' ? '/weft.test.Echo/' : '/' };
  const policy = { name: `${kind}-${RULES}-rules`, targets: { assets: ['app'] }, entrypoint: `data.mesh.${kind}.allow`, modules: [{ name: 'policy.rego', rego: callerAuthzPolicy(RULES, caller, 'test.local', kind) }] };
  // Access log and metrics on, as `weft up` runs them (the log goes to the sidecar's stdout).
  const backend = await spawnSidecar({
    workload: 'backend',
    accessLog: { mode: 'on' },
    identity: await identity('backend'),
    inbound: {
      port: 0,
      appPort,
      appProtocol: kind === 'grpc' ? 'grpc' : 'http1',
      filters: [{ name: 'authz', config: { assets: [{ name: 'app', match: { paths: [{ prefix: '/' }] } }], policies: [policy] } }, { name: 'router' }],
    },
  }, second?.nodeArgs ?? sidecarNodeArgs, second?.node, second?.bin);
  sidecars.push(backend);
  const frontend = await spawnSidecar({
    workload: 'frontend',
    accessLog: { mode: 'on' },
    identity: await identity('frontend'),
    outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: testId('backend') }] },
  }, second?.nodeArgs ?? sidecarNodeArgs, second?.node, second?.bin);
  sidecars.push(frontend);
  return [backend, frontend];
}

/** SIGTERM, and if the sidecar has not exited 10 s later, its stderr on ours, SIGKILL and a failed run. */
async function terminateOrReport(sidecar: SidecarProcess): Promise<void> {
  const stuck = setTimeout(() => {
    process.stderr.write(`bench:mesh: sidecar ${sidecar.child.pid} still running 10 s after SIGTERM; its stderr:\n${sidecar.stderr()}`);
    process.exitCode = 1;
    sidecar.child.kill('SIGKILL');
  }, 10_000);
  await sidecar.terminate();
  clearTimeout(stuck);
}

async function throughputRound(t: Target): Promise<void> {
  const sampleRss = async () => {
    for (const pid of t.hops) {
      const { rss, anon } = await residentMb(pid);
      t.rssMb = Math.max(t.rssMb, rss);
      t.anonMb = Math.max(t.anonMb, anon);
    }
  };
  const halfway = setTimeout(() => void sampleRss(), (seconds * 1000) / 2);
  t.rps = Math.max(t.rps, await t.throughput(seconds));
  clearTimeout(halfway);
  await sampleRss();
}

async function latencyRound(t: Target, rate: number): Promise<void> {
  const total = async (read: (pid: number) => Promise<number>): Promise<number> => (await Promise.all(t.hops.map(read))).reduce((sum, n) => sum + n, 0);
  const [cpuBefore, syscallsBefore] = [await total(cpuMicros), await total(ioSyscalls)];
  const run = await openLoop(t.send, seconds, rate);
  t.cpuMicros += (await total(cpuMicros)) - cpuBefore;
  t.syscalls += (await total(ioSyscalls)) - syscallsBefore;
  if (run.failures.size > 0) throw new Error(`${t.name}: requests failed: ${JSON.stringify([...run.failures])}`);
  t.runs.push(run);
}

/** Measures `targets` ([direct, weft, bare, ...]); returns the fixed rate used. */
async function measure(label: string, targets: Target[]): Promise<number> {
  for (const t of targets) await t.throughput(Math.min(2, seconds));
  for (let round = 0; round < rounds; round++) for (const t of targets) await throughputRound(t);
  const rate = Math.max(1, Math.floor(targets[2]!.rps / 3));
  for (const t of targets) await openLoop(t.send, 1, rate);
  for (let round = 0; round < rounds; round++) for (const t of targets) await latencyRound(t, rate);
  const [direct] = targets.map((t) => summary(t.runs));
  console.log(`\n${label}: max rps best of ${rounds} x ${seconds}s; latency open loop at ${rate}/s (a third of the bare pair's max) for ${rounds} x ${seconds}s, over all rounds`);
  console.log(`${'path'.padEnd(40)} ${'max rps'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'+p50 ms'.padStart(8)} ${'+p99 ms'.padStart(8)} ${'CPU us/req'.padStart(10)} ${'syscalls/req'.padStart(12)} ${'RSS MB'.padStart(7)} ${'anon MB'.padStart(7)}`);
  for (const t of targets) {
    const s = summary(t.runs);
    const requests = rate * seconds * rounds;
    const cpu = t.hops.length === 0 ? '-' : (t.cpuMicros / requests).toFixed(0);
    const syscalls = t.hops.length === 0 ? '-' : (t.syscalls / requests).toFixed(1);
    const rss = t.hops.length === 0 ? '-' : t.rssMb.toFixed(0);
    const anon = t.hops.length === 0 ? '-' : t.anonMb.toFixed(0);
    console.log(
      `${t.name.padEnd(40)} ${t.rps.toFixed(0).padStart(8)} ${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${(s.p50 - direct!.p50).toFixed(2).padStart(8)} ${(s.p99 - direct!.p99).toFixed(2).padStart(8)} ${cpu.padStart(10)} ${syscalls.padStart(12)} ${rss.padStart(7)} ${anon.padStart(7)}`,
    );
  }
  return rate;
}

/** The weft path at `weftIndex` against the floor (the bare pair, targets[2]). */
function ratios(targets: Target[], weftIndex = 1): { rps: string; p99: string } {
  const [direct, , bare] = targets.map((t) => summary(t.runs)) as [ReturnType<typeof summary>, ReturnType<typeof summary>, ReturnType<typeof summary>];
  const weft = summary(targets[weftIndex]!.runs);
  return { rps: (targets[weftIndex]!.rps / targets[2]!.rps).toFixed(2), p99: ((weft.p99 - direct.p99) / (bare.p99 - direct.p99)).toFixed(2) };
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  console.log(`load average at start: ${loadBefore}`);
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-mesh-'));
  const app = await startNginx({ workers: 1, server: `location / { root ${staticRoot({ 'index.html': 'x'.repeat(1023) + '\n' })}; }` });
  nginxes.push(app);
  const grpcWorker = new Worker(new URL('./grpc-echo-worker.js', import.meta.url));
  const grpcListening = new Promise<number>((resolve, reject) => {
    grpcWorker.once('message', resolve);
    grpcWorker.once('error', reject);
  });
  const ca = await startCaServer();
  try {
    const grpcPort = await grpcListening;
    const step = (what: string): void => console.error(`bench:mesh: ${what}`);
    step('starting the pairs');
    const pems = await writePems(ca, dir);
    step('weft HTTP pair');
    const httpWeft = await weftPair(ca, dir, app.port, 'http');
    step('weft gRPC pair');
    const grpcWeft = await weftPair(ca, dir, grpcPort, 'grpc');
    const ownVersion = process.version;
    const second = await secondWeft();
    if (second !== undefined) step(`weft pairs on ${second.label} (${second.node} ${second.bin})`);
    const secondHttp = second === undefined ? undefined : await weftPair(ca, dir, app.port, 'http', second);
    const secondGrpc = second === undefined ? undefined : await weftPair(ca, dir, grpcPort, 'grpc', second);
    const bareHttp = await barePair('bare-http-hop.mjs', `http://127.0.0.1:${app.port}`, pems, 'https', children);
    const bareGrpc = await barePair('bare-h2-hop.mjs', `http://127.0.0.1:${grpcPort}`, pems, 'https', children);
    const pids = (pair: readonly SidecarProcess[]): number[] => pair.map((sidecar) => sidecar.child.pid!);
    const weftName = (version: string) => `weft ${version} (2 sidecars, mTLS, 20 rules)`;
    const http = [
      httpTarget('direct to the app', app.port),
      httpTarget(weftName(ownVersion), httpWeft[1].outboundPort, pids(httpWeft)),
      httpTarget('bare Node pair (http -> undici mTLS)', bareHttp.port, bareHttp.hops),
      httpTarget('nginx pair (mTLS)', await nginxPair(app.port, pems)),
      ...(secondHttp === undefined ? [] : [httpTarget(weftName(second!.label), secondHttp[1].outboundPort, pids(secondHttp))]),
    ];
    const grpcTargets = [
      grpcTarget('direct to the app', grpcPort),
      grpcTarget(weftName(ownVersion), grpcWeft[1].outboundPort, pids(grpcWeft)),
      grpcTarget('bare node:http2 pair (h2c -> h2 mTLS)', bareGrpc.port, bareGrpc.hops),
      ...(secondGrpc === undefined ? [] : [grpcTarget(weftName(second!.label), secondGrpc[1].outboundPort, pids(secondGrpc))]),
    ];
    console.log(`wrk -t1 -c${CONNECTIONS} (HTTP/1.1, 1 KiB responses, Host: backend); grpc-js with ${CONNECTIONS} unary calls in flight (100-byte messages); undici Pool / grpc-js open loop for latency`);
    console.log(`sidecar node flags: ${sidecarNodeArgs.join(' ') || '(none)'}; access log on; ${RULES}-rule Rego policy on the inbound sidecar; CPU and RSS summed/maxed over both proxies of a path`);
    if (only !== 'grpc') {
      step('measuring HTTP/1.1');
      await measure('HTTP/1.1', http);
    }
    if (only !== 'http') {
      step('measuring gRPC');
      await measure('gRPC unary', grpcTargets);
    }
    console.log(`\nload average at end: ${loadAverage()} (at start: ${loadBefore}); the floor is the bare pair on ${ownVersion}`);
    if (only !== undefined) return;
    const runtimes = [{ version: ownVersion, http: 1, grpc: 1 }, ...(second === undefined ? [] : [{ version: second.label, http: http.length - 1, grpc: grpcTargets.length - 1 }])];
    for (const runtime of runtimes) {
      const h = ratios(http, runtime.http);
      const g = ratios(grpcTargets, runtime.grpc);
      const rss = Math.max(http[runtime.http]!.rssMb, grpcTargets[runtime.grpc]!.rssMb);
      const anon = Math.max(http[runtime.http]!.anonMb, grpcTargets[runtime.grpc]!.anonMb);
      console.log(
        `mesh bench (${runtime.version}): rps_vs_floor=${h.rps} p99_vs_floor=${h.p99} grpc_rps_vs_floor=${g.rps} grpc_p99_vs_floor=${g.p99} sidecar_rss_mb=${rss.toFixed(0)} sidecar_anon_mb=${anon.toFixed(0)}`,
      );
    }
  } catch (error) {
    for (const sidecar of sidecars) process.stderr.write(sidecar.stderr());
    throw error;
  } finally {
    for (const sidecar of sidecars) await terminateOrReport(sidecar);
    for (const child of children) child.kill('SIGTERM');
    for (const nginx of nginxes) nginx.stop();
    await grpcWorker.terminate();
    await ca.close();
    // The bare pairs' keys and the sidecars' tokens.
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
