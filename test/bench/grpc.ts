// bench:grpc — unary gRPC calls (grpc-js client and server, 100-byte messages) directly, and
// through two weft sidecars as production runs them: `weft proxy` processes with `weft up`'s Node
// flags, the client's outbound sidecar (h2c) -> mutual TLS HTTP/2 -> the server's inbound sidecar,
// whose authz filter enforces a 20-rule Rego policy (test/bench/policy-fixture.ts) that allows
// the calls. The server runs on its own thread. Per target, after a warm-up:
//   - latency at a fixed open-loop rate (BENCH_RPS calls/s for BENCH_SECONDS): each call is
//     scheduled in advance and its latency counted from its scheduled time, so a stall delays
//     and counts every call behind it (no coordinated omission); p50/p99 over all rounds;
//   - throughput with BENCH_CONCURRENCY calls always in flight (closed loop): the best round.
// Targets alternate round by round, so noise from other work hits both alike. Any call that does
// not end OK fails the benchmark, and so does a call the policy should deny getting through.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { SIDECAR_NODE_OPTIONS } from '../../deploy/local/up-cli.js';
import { sidecarIdentityConfig, startCaServer } from '../helpers/ca-server.js';
import { echoClient, echoService } from '../helpers/grpc-echo.js';
import { spawnSidecar, type SidecarProcess } from '../helpers/sidecar.js';
import { testId } from '../helpers/throwaway-ca.js';
import { cpuMicros, loadAverage, openLoop, summary, type OpenLoopRun } from './load.js';
import { callerAuthzPolicy } from './policy-fixture.js';

const rate = Number(process.env.BENCH_RPS ?? 1000);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const throughputSeconds = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
// Node flags for the sidecars: `weft up`'s by default; also takes flags NODE_OPTIONS refuses
// (`--cpu-prof --cpu-prof-dir=DIR` to profile them).
const sidecarNodeOptions = process.env.SIDECAR_NODE_OPTIONS ?? SIDECAR_NODE_OPTIONS;
const sidecarNodeArgs = sidecarNodeOptions.split(' ').filter(Boolean);
const RULES = 20;

const raw = (buffer: Buffer): Buffer => buffer;
const payload = Buffer.alloc(100, 0x61);

function call(client: grpc.Client, path = echoService.Unary.path): Promise<void> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, raw, raw, payload, (error) => (error ? reject(error) : resolve()));
  });
}

/** `rate` calls/s for `duration` s, each call's latency from its scheduled time. */
function callsOpenLoop(client: grpc.Client, duration: number, rate: number): Promise<OpenLoopRun> {
  let reported = false;
  return openLoop(
    (done) =>
      client.makeUnaryRequest(echoService.Unary.path, raw, raw, payload, (error) => {
        if (error !== null && !reported) {
          reported = true;
          console.error(`first failed call: ${error.message}`);
        }
        done(error?.code);
      }),
    duration,
    rate,
  );
}

/** Calls with `concurrency` always in flight for `duration` s; calls/s. */
async function closedLoop(client: grpc.Client, duration: number): Promise<number> {
  const until = performance.now() + duration * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      await call(client);
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - start) / 1000);
}

async function startServerThread(): Promise<{ port: number; worker: Worker }> {
  const worker = new Worker(new URL('./grpc-echo-worker.js', import.meta.url));
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { port, worker };
}

/** The policy must deny what it does not list: a call to another service is PERMISSION_DENIED. */
async function assertPolicyEnforced(client: grpc.Client): Promise<void> {
  const denied = await call(client, '/weft.test.Unlisted/Unary').then(
    () => grpc.status.OK,
    (error: grpc.ServiceError) => error.code,
  );
  if (denied !== grpc.status.PERMISSION_DENIED) throw new Error(`a call the policy does not allow ended with status ${denied}, not PERMISSION_DENIED`);
}

async function main(): Promise<void> {
  const server = await startServerThread();
  const ca = await startCaServer();
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-grpc-'));
  const sidecars: SidecarProcess[] = [];
  const identity = (workload: string): Promise<Record<string, unknown>> => sidecarIdentityConfig(ca, dir, workload);
  const policy = callerAuthzPolicy(RULES, { principal: testId('frontend'), pathPrefix: '/weft.test.Echo/' }, 'test.local');
  try {
    const backend = await spawnSidecar({
      workload: 'backend',
      accessLog: { mode: 'off' },
      identity: await identity('backend'),
      inbound: {
        port: 0,
        appPort: server.port,
        appProtocol: 'grpc',
        filters: [
          {
            name: 'authz',
            config: {
              assets: [{ name: 'echo', match: { paths: [{ prefix: '/' }] } }],
              policies: [{ name: 'grpc-20-rules', targets: { assets: ['echo'] }, entrypoint: 'data.mesh.grpc.allow', modules: [{ name: 'grpc.rego', rego: policy }] }],
            },
          },
          { name: 'router' },
        ],
      },
    }, sidecarNodeArgs);
    sidecars.push(backend);
    const frontend = await spawnSidecar({
      workload: 'frontend',
      accessLog: { mode: 'off' },
      identity: await identity('frontend'),
      outbound: {
        port: 0,
        clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: testId('backend') }],
      },
    }, sidecarNodeArgs);
    sidecars.push(frontend);
    const targets = [
      { name: 'direct', client: echoClient(server.port, 'backend'), runs: [] as OpenLoopRun[], rps: 0 },
      { name: 'two sidecars (mTLS, authz)', client: echoClient(frontend.outboundPort, 'backend'), runs: [] as OpenLoopRun[], rps: 0 },
    ];
    await assertPolicyEnforced(targets[1]!.client);
    const loadBefore = loadAverage();
    // CPU each sidecar spends in the mesh target's open-loop runs: [backend, frontend].
    const sidecarCpu = [0, 0];
    // Warm-up in steps (a quarter, half, then the full rate), so that code not yet optimized
    // does not meet the full rate at once.
    for (const target of targets) {
      for (const share of [0.25, 0.5, 1]) {
        const warmup = await callsOpenLoop(target.client, warmupSeconds / 3, rate * share);
        if (warmup.failures.size > 0) throw new Error(`${target.name}: calls failed in the warm-up: ${JSON.stringify([...warmup.failures])}`);
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (const target of targets) {
        const cpuBefore = await Promise.all(sidecars.map((sidecar) => cpuMicros(sidecar.child.pid!)));
        const run = await callsOpenLoop(target.client, seconds, rate);
        if (target === targets[1]) {
          const cpuAfter = await Promise.all(sidecars.map((sidecar) => cpuMicros(sidecar.child.pid!)));
          for (const [i, after] of cpuAfter.entries()) sidecarCpu[i]! += after - cpuBefore[i]!;
        }
        target.runs.push(run);
        const s = summary([run]);
        console.log(`round ${round + 1} ${target.name.padEnd(28)} p50=${s.p50.toFixed(3)}ms p99=${s.p99.toFixed(3)}ms`);
      }
      for (const target of targets) target.rps = Math.max(target.rps, await closedLoop(target.client, throughputSeconds));
    }
    console.log(
      `unary gRPC, ${payload.length}-byte messages; ${rate} calls/s open loop for ${seconds}s x ${rounds} rounds after ${warmupSeconds}s warm-up (latency over all rounds); ` +
        `${concurrency} in flight for ${throughputSeconds}s (throughput, best round); sidecar NODE_OPTIONS=${sidecarNodeOptions}; authz ${RULES}-rule policy on the inbound sidecar`,
    );
    console.log(`load average before: ${loadBefore}; after: ${loadAverage()}`);
    const results = targets.map((target) => ({ ...summary(target.runs), rps: target.rps }));
    for (const [i, target] of targets.entries()) {
      const r = results[i]!;
      const failed = [...r.failures.values()].reduce((a, b) => a + b, 0);
      console.log(`${target.name.padEnd(28)} p50=${r.p50.toFixed(3)}ms p99=${r.p99.toFixed(3)}ms max_rps=${r.rps.toFixed(0)} non_ok=${failed}`);
    }
    const meshCalls = rounds * Math.round(rate * seconds);
    console.log(`sidecar CPU per call at ${rate} calls/s: frontend=${(sidecarCpu[1]! / meshCalls).toFixed(0)}us backend=${(sidecarCpu[0]! / meshCalls).toFixed(0)}us`);
    console.log(`sidecar RSS after the run: frontend=${((await frontend.rss()) / 2 ** 20).toFixed(0)}MB backend=${((await backend.rss()) / 2 ** 20).toFixed(0)}MB`);
    for (const [i, target] of targets.entries()) {
      if (results[i]!.failures.size > 0) throw new Error(`${target.name}: calls did not end OK (status: count): ${JSON.stringify([...results[i]!.failures])}`);
    }
    const [direct, mesh] = results as [(typeof results)[0], (typeof results)[0]];
    console.log(`grpc bench: rps_ratio=${(mesh.rps / direct.rps).toFixed(2)} added_p50_ms=${(mesh.p50 - direct.p50).toFixed(3)} added_p99_ms=${(mesh.p99 - direct.p99).toFixed(3)}`);
    for (const target of targets) target.client.close();
  } catch (error) {
    for (const sidecar of sidecars) process.stderr.write(sidecar.stderr());
    throw error;
  } finally {
    for (const sidecar of sidecars) await sidecar.terminate();
    await server.worker.terminate();
    await ca.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
