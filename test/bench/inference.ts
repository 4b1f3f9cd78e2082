// bench:inference — weft's inference picker against round robin, random and least-in-flight
// on the same traces (issue 13). A mesh run by `weft up` (inference-managed-mesh.ts): a control plane,
// four `weft sim vllm` servers and a fifth 2x slower one that stands in for the fourth in
// scenario B, each behind its own managed sidecar (which scrapes its engine and reports the
// load), and two callers' managed sidecars sharing the load, as two client services would, on
// the InferencePools. The other policies run on two more callers' sidecars with a static config,
// one cluster per policy over the same servers' sidecars. Per scenario (inference-trace.ts): the
// capacity is measured first (closed loop through the static callers with round robin, so what
// the sidecars cost on a shared machine counts), then one seeded Poisson trace at the scenario's
// share of it is replayed against each policy in turn. Per policy: TTFT p50/p99 and end-to-end
// p99 (from each request's scheduled time, so no coordinated omission), and output tokens/s
// delivered while arrivals last. Also the router's added latency at low load: p50 of one-token
// requests through both sidecars (mutual TLS between them, the servers' authorization policy)
// against straight to a server, beside the Node floor: the same two hops by a bare Node pair
// (bare-pair.ts). Ends with one line per scenario, weft over the better of round robin and random.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { SIDECAR_NODE_OPTIONS } from '../../deploy/local/up-cli.js';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { spawnSidecar, type SidecarProcess } from '../helpers/sidecar.js';
import { barePair, writePems } from './bare-pair.js';
import { CALLER_ACCOUNT, meshIdentityConfig, serverId, startInferenceMesh, type InferenceMesh } from './inference-managed-mesh.js';
import { chatBody, FLEET, percentile, SCENARIOS, serversOf, trace, type Scenario, type TraceRequest } from './inference-trace.js';
import { loadAverage } from './load.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((arg) => arg.startsWith('--scenario='))?.slice('--scenario='.length);
/**
 * Only these policies (rr, random, lif, weft-static, weft; for tuning, no summary line without
 * the first two and weft). `--quick` runs only those three.
 */
const chosenPolicies = process.argv.find((arg) => arg.startsWith('--policies='))?.slice('--policies='.length);
const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 4 : 20));
const capacitySeconds = quick ? 2 : 8;
const CAPACITY_WARMUP_MS = quick ? 1000 : 2000;
const WARM_UP_ROUNDS = quick ? 1 : 2;
const MODEL = 'sim/llama-3-8b';
/** Prompt blocks for prefix affinity: the pools' and the static weft policy's. */
const PREFIX = { blockChars: 256, blocks: 4 };
const sidecarNodeArgs = SIDECAR_NODE_OPTIONS.split(' ').filter(Boolean);

/** BENCH_WEFT_CONFIG: the static weft policy's balancer config, for tuning (the sidecar validates it). */
function weftConfig(): Record<string, unknown> {
  try {
    return JSON.parse(process.env.BENCH_WEFT_CONFIG ?? '{}') as Record<string, unknown>;
  } catch (error) {
    throw new Error(`BENCH_WEFT_CONFIG is not JSON: ${(error as Error).message}`);
  }
}

/**
 * The policies compared. `weft` is the product as deployed: the callers' managed sidecars on the
 * InferencePool, with every member's load from the control plane's stream besides the answers'
 * headers. The others run on sidecars with a static config (the same code and hops, one cluster
 * per policy over the same servers' sidecars); `weft-static` is weft's picker there, with load
 * only from the headers of its own answers.
 */
const POLICIES = [
  { name: 'round robin', key: 'rr', loadBalancer: 'round_robin', loadBalancerConfig: {} },
  { name: 'random', key: 'random', loadBalancer: 'random', loadBalancerConfig: {} },
  { name: 'least in flight', key: 'lif', loadBalancer: 'least_request', loadBalancerConfig: { choiceCount: 4 } },
  { name: 'weft, static', key: 'weft-static', loadBalancer: 'inference', loadBalancerConfig: weftConfig() },
  { name: 'weft', key: 'weft', loadBalancer: undefined, loadBalancerConfig: undefined },
] as const;
type PolicyKey = (typeof POLICIES)[number]['key'];
const STATIC_POLICIES = POLICIES.filter((policy) => policy.loadBalancer !== undefined);
const policies = (chosenPolicies ?? (quick ? 'rr,random,weft' : 'rr,random,lif,weft-static,weft')).split(',');

interface Fleet {
  readonly mesh: InferenceMesh;
  /** Each server's port (its app in the mesh). */
  readonly simPorts: readonly number[];
  /** The callers with a static config (every policy but weft). */
  readonly staticCallers: readonly SidecarProcess[];
  readonly ca: TestCaServer;
  /** The mesh, the floor's certificates and keys, and the sidecars' tokens: removed with the fleet. */
  readonly dir: string;
  /** Straight to each server. */
  readonly direct: readonly Pool[];
  /** To each static caller's outbound listener. */
  readonly throughStatic: readonly Pool[];
  /** To each managed caller's outbound listener. */
  readonly throughMesh: readonly Pool[];
  /** To the front of a bare Node pair in front of each of the homogeneous fleet's servers (the floor). */
  readonly floor: readonly Pool[];
}

/** Running slots across the scenario's fleet. */
const slotsOf = (scenario: Scenario): number => serversOf(scenario).reduce((n, server) => n + FLEET[server]!.maxNumSeqs, 0);

const POOLS = [
  { name: 'llm', servers: serversOf({ slowBackend: false }) },
  { name: 'llm-b', servers: serversOf({ slowBackend: true }) },
];

/** The host a policy's requests go to: the pool, for weft; the static callers' cluster, for the others. */
const hostOf = (policy: PolicyKey, slowBackend: boolean): string => (policy === 'weft' ? POOLS[slowBackend ? 1 : 0]!.name : `llm-${policy}${slowBackend ? '-b' : ''}`);
const callersOf = (fleet: Fleet, policy: PolicyKey): readonly Pool[] => (policy === 'weft' ? fleet.throughMesh : fleet.throughStatic);

const children: ChildProcess[] = [];
// However the bench ends, its processes end with it (weft up stops its own on SIGTERM).
process.on('exit', () => children.forEach((child) => child.kill('SIGTERM')));
process.on('SIGINT', () => process.exit(130));

const portOf = (address: string): number => Number(new URL(address.includes('://') ? address : `http://${address}`).port);

/**
 * The mesh (inference-managed-mesh.ts: the control plane, each server behind its managed sidecar, two
 * managed callers); two callers with a static config beside them, with identities from the same
 * control plane, mutual TLS to the same servers' sidecars; and the floor: a bare Node pair
 * (front -> mutual TLS -> back, no weft code) in front of each server of the homogeneous fleet.
 */
async function startFleet(): Promise<Fleet> {
  const ca = await startCaServer();
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-inference-'));
  const mesh = await startInferenceMesh({ model: MODEL, fleet: FLEET, pools: POOLS, callers: 2, prefix: PREFIX, dir }, children);
  const simPorts = FLEET.map((_, i) => portOf(mesh.record.workloads[mesh.serverName(i)]!.app));
  const pems = await writePems(ca, dir);
  const floorPorts = await Promise.all(serversOf({ slowBackend: false }).map(async (server) => (await barePair('bare-http-hop.mjs', `http://127.0.0.1:${simPorts[server]}`, pems, 'https', children)).port));
  const endpoints = FLEET.map((_, i) => ({ address: '127.0.0.1', port: portOf(mesh.record.workloads[mesh.serverName(i)]!.inbound), models: [MODEL] }));
  const staticCallers = await Promise.all(
    [0, 1].map(async (i) =>
      spawnSidecar(
        {
          workload: CALLER_ACCOUNT,
          accessLog: { mode: 'off' },
          identity: await meshIdentityConfig(mesh, dir, CALLER_ACCOUNT, `static-caller-${i}`),
          outbound: {
            port: 0,
            filters: [{ name: 'inference', config: { prefix: PREFIX } }, { name: 'router' }],
            clusters: STATIC_POLICIES.flatMap((policy) =>
              [false, true].map((slowBackend) => ({
                name: hostOf(policy.key, slowBackend),
                hosts: [hostOf(policy.key, slowBackend)],
                loadBalancer: policy.loadBalancer,
                loadBalancerConfig: policy.loadBalancerConfig,
                endpoints: serversOf({ slowBackend }).map((server) => endpoints[server]!),
                spiffeId: serverId,
              })),
            ),
          },
        },
        sidecarNodeArgs,
      ),
    ),
  );
  children.push(...staticCallers.map((caller) => caller.child));
  const pool = (port: number) => new Pool(`http://127.0.0.1:${port}`, { connections: 1024 });
  return {
    mesh,
    simPorts,
    staticCallers,
    ca,
    dir,
    direct: simPorts.map(pool),
    throughStatic: staticCallers.map((caller) => pool(caller.outboundPort)),
    throughMesh: [0, 1].map((i) => pool(portOf(mesh.record.workloads[mesh.callerName(i)]!.outbound))),
    floor: floorPorts.map(pool),
  };
}

async function stopFleet(fleet: Fleet): Promise<void> {
  await Promise.all([...fleet.direct, ...fleet.throughStatic, ...fleet.throughMesh, ...fleet.floor].map((pool) => pool.close()));
  await Promise.all(fleet.staticCallers.map((sidecar) => sidecar.terminate()));
  await fleet.mesh.stop();
  await fleet.ca.close();
  await rm(fleet.dir, { recursive: true, force: true });
}

interface Outcome {
  /** ms from the scheduled time; NaN if it failed. */
  ttft: number;
  e2e: number;
  failed: string | undefined;
}

/** Sends one streamed request; `tokens` is called with the time of each token event that arrives. */
function send(pool: Pool, host: string, body: string, scheduled: number, tokens: (at: number, count: number) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { ttft: NaN, e2e: NaN, failed: undefined };
    pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { host, 'content-type': 'application/json' }, body }, (error, response) => {
      if (error !== null) return resolve({ ...outcome, failed: error.message });
      if (response.statusCode !== 200) {
        void response.body.dump();
        return resolve({ ...outcome, failed: String(response.statusCode) });
      }
      // Token events end in a blank line; the last two events are the finish chunk and [DONE].
      let events = 0;
      let lastByte = 0;
      response.body.on('data', (chunk: Buffer) => {
        const now = performance.now();
        if (Number.isNaN(outcome.ttft)) outcome.ttft = now - scheduled;
        let count = 0;
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) {
          if ((at === 0 ? lastByte : chunk[at - 1]) === 10) count += 1;
        }
        lastByte = chunk[chunk.length - 1] ?? lastByte;
        events += count;
        tokens(now, count);
      });
      response.body.on('end', () => {
        tokens(performance.now(), -Math.min(2, events));
        outcome.e2e = performance.now() - scheduled;
        resolve(outcome);
      });
      response.body.on('error', (bodyError: Error) => resolve({ ...outcome, failed: bodyError.message }));
    });
  });
}

interface PolicyResult {
  readonly ttftP50: number;
  readonly ttftP99: number;
  readonly e2eP99: number;
  /** Output tokens/s delivered while arrivals last. */
  readonly tokensPerSecond: number;
  readonly failures: number;
  /** Distinct reasons (status codes, error messages). */
  readonly failureReasons: readonly string[];
}

async function replay(requests: readonly TraceRequest[], pools: readonly Pool[], host: string, nonce: string): Promise<PolicyResult> {
  const window = seconds * 1000;
  let windowTokens = 0;
  const start = performance.now() + 50;
  const outcomes: Promise<Outcome>[] = [];
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = (): void => {
      const now = performance.now();
      for (; next < requests.length && start + requests[next]!.at <= now; next++) {
        const request = requests[next]!;
        outcomes.push(send(pools[request.caller]!, host, chatBody(request, MODEL, nonce), start + request.at, (at, count) => {
          if (at - start <= window) windowTokens += count;
        }));
      }
      if (next < requests.length) setTimeout(tick, Math.max(0, start + requests[next]!.at - performance.now()));
      else resolve();
    };
    tick();
  });
  const settled = await Promise.all(outcomes);
  return {
    ttftP50: percentile(settled.map((o) => o.ttft), 50),
    ttftP99: percentile(settled.map((o) => o.ttft), 99),
    e2eP99: percentile(settled.map((o) => o.e2e), 99),
    tokensPerSecond: windowTokens / seconds,
    failures: settled.filter((o) => o.failed !== undefined).length,
    failureReasons: [...new Set(settled.flatMap((o) => (o.failed === undefined ? [] : [o.failed])))],
  };
}

/**
 * Requests/s completed when the servers are kept full (closed loop through the callers, round
 * robin), counted over a window after a warm-up that fills their slots and queues.
 */
async function capacity(scenario: Scenario, fleet: Fleet, seed: number): Promise<number> {
  const concurrency = slotsOf(scenario) * 2;
  const requests = trace(scenario, 1000, 60, seed);
  const from = performance.now() + CAPACITY_WARMUP_MS;
  const until = from + capacitySeconds * 1000;
  let next = 0;
  let completed = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const index = next++;
      const outcome = await send(fleet.throughStatic[index % 2]!, hostOf('rr', scenario.slowBackend), chatBody(requests[index % requests.length]!, MODEL, `cap-${seed}`), performance.now(), () => undefined);
      if (outcome.failed !== undefined) throw new Error(`capacity run: ${outcome.failed}`);
      const now = performance.now();
      if (now >= from && now < until) completed += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return completed / capacitySeconds;
}

/** A chat completion of one token, asking `content`. */
const oneTokenBody = (content: string): string => JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: 1 });

/** Posts a chat completion `body` for `host` through `pool` and reads the answer whole; anything but 200 throws, naming `what`. */
async function complete(pool: Pool, host: string, body: string, what: string): Promise<void> {
  const { statusCode, body: answer } = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { host, 'content-type': 'application/json' }, body });
  await answer.text();
  if (statusCode !== 200) throw new Error(`${what}: status ${statusCode}`);
}

/**
 * Opens a policy's connections before its run, as the capacity run opened round robin's: each
 * caller's pool to each backend grows to what its requests in flight need, and a cold pool's
 * TLS handshakes would otherwise land in the first seconds of the policy's own run (one-token
 * requests, twice the fleet's slots in flight, `rounds` each).
 */
async function warmUp(callers: readonly Pool[], host: string, slots: number, rounds: number): Promise<void> {
  const worker = async (w: number): Promise<void> => {
    for (let round = 0; round < rounds; round++) await complete(callers[w % 2]!, host, oneTokenBody(`warm-up ${w} ${round}`), `warm-up of ${host}`);
  };
  await Promise.all(Array.from({ length: 2 * slots }, (_, w) => worker(w)));
}

interface AddedLatency {
  /** p50 ms straight to a server, through the callers' and the servers' sidecars, through a bare Node pair. */
  readonly direct: number;
  readonly through: number;
  readonly floor: number;
}

/** p50 ms of one-token answers at low load, each path in turn (so noise hits all alike), after a warm-up. */
async function addedLatency(fleet: Fleet): Promise<AddedLatency> {
  const body = oneTokenBody('hi');
  const time = async (pool: Pool, host: string): Promise<number> => {
    const started = performance.now();
    await complete(pool, host, body, 'added latency');
    return performance.now() - started;
  };
  const direct: number[] = [];
  const through: number[] = [];
  const floor: number[] = [];
  // Unmeasured first: a sidecar in service has long been through V8's warm-up (cold, a hop
  // costs twice its warm figure).
  const warmup = quick ? 300 : 1000;
  const rounds = quick ? 100 : 500;
  for (let i = 0; i < warmup + rounds; i++) {
    const tookDirect = await time(fleet.direct[i % 4]!, 'llm');
    const tookThrough = await time(fleet.throughMesh[i % 2]!, hostOf('weft', false));
    const tookFloor = await time(fleet.floor[i % 4]!, 'llm');
    if (i < warmup) continue;
    direct.push(tookDirect);
    through.push(tookThrough);
    floor.push(tookFloor);
  }
  return { direct: percentile(direct, 50), through: percentile(through, 50), floor: percentile(floor, 50) };
}

const ms = (value: number): string => value.toFixed(1).padStart(8);

async function main(): Promise<void> {
  process.stdout.write(`bench:inference${quick ? ' --quick' : ''}: ${seconds} s per policy, load average ${loadAverage()}\n`);
  const lines: string[] = [];
  const fleet = await startFleet();
  try {
    const latency = await addedLatency(fleet);
    const added = latency.through - latency.direct;
    const floorAdded = latency.floor - latency.direct;
    process.stdout.write(`router added latency at low load: p50 direct ${latency.direct.toFixed(2)} ms, through caller + backend sidecars ${latency.through.toFixed(2)} ms, added ${added.toFixed(2)} ms; Node floor (bare pair, same mutual TLS) ${latency.floor.toFixed(2)} ms, added ${floorAdded.toFixed(2)} ms; weft over the floor ${(added - floorAdded).toFixed(2)} ms\n`);
    for (const [index, scenario] of SCENARIOS.entries()) {
      if (only !== undefined && !only.split(',').includes(scenario.name)) continue;
      const measured = await capacity(scenario, fleet, 7 + index);
      const rate = measured * scenario.loadFactor;
      const requests = trace(scenario, rate, seconds, 42 + index);
      process.stdout.write(`\nscenario ${scenario.name}: ${scenario.title}\n  capacity ${measured.toFixed(1)} req/s, offered ${rate.toFixed(1)} req/s, ${requests.length} requests, load average ${loadAverage()}\n`);
      process.stdout.write(`  ${'policy'.padEnd(16)}${'TTFT p50'.padStart(9)}${'TTFT p99'.padStart(9)}${'e2e p99'.padStart(9)}  out tok/s  failed\n`);
      const results = new Map<PolicyKey, PolicyResult>();
      for (const policy of POLICIES.filter((p) => policies.includes(p.key))) {
        await warmUp(callersOf(fleet, policy.key), hostOf(policy.key, scenario.slowBackend), slotsOf(scenario), WARM_UP_ROUNDS);
        const result = await replay(requests, callersOf(fleet, policy.key), hostOf(policy.key, scenario.slowBackend), `run-${scenario.name}-${policy.key}`);
        results.set(policy.key, result);
        process.stdout.write(`  ${policy.name.padEnd(16)}${ms(result.ttftP50)} ${ms(result.ttftP99)} ${ms(result.e2eP99)}  ${result.tokensPerSecond.toFixed(0).padStart(9)}  ${String(result.failures).padStart(6)}${result.failures > 0 ? `  (${result.failureReasons.join(', ')})` : ''}\n`);
      }
      const weft = results.get('weft');
      const rr = results.get('rr');
      const random = results.get('random');
      if (weft === undefined || rr === undefined || random === undefined) continue;
      const ratio = (value: number, baseline: number): string => (value / baseline).toFixed(2);
      lines.push(`inference bench: scenario=${scenario.name} ttft_p99_ratio=${ratio(weft.ttftP99, Math.min(rr.ttftP99, random.ttftP99))} e2e_p99_ratio=${ratio(weft.e2eP99, Math.min(rr.e2eP99, random.e2eP99))} throughput_ratio=${ratio(weft.tokensPerSecond, Math.max(rr.tokensPerSecond, random.tokensPerSecond))}`);
    }
  } finally {
    await stopFleet(fleet);
  }
  process.stdout.write(`\nload average ${loadAverage()}\n${lines.join('\n')}\n`);
}

await main().catch((error: unknown) => {
  process.stderr.write(`bench:inference failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
process.exit();
