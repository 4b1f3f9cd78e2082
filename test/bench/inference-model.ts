// bench:inference-model: bench:inference's scenarios and traces replayed in virtual time, to
// weigh a change to the picker in seconds and without the machine's noise. The simulator's
// engine (deploy/sim/sim-engine.ts) on a virtual clock, four per fleet as in the bench; two
// callers, each with the real `inference` balancer (load table, picker, prefix keys) for weft;
// each engine read every 50 ms, and the load its sidecar reports (that reading brought up to now
// by its own count, backend-load.ts) carried on the head of each answer (sent when the request is
// taken, as vLLM's are); 1 ms each way between caller and engine. Left out: the
// sidecars' CPU and HTTP, so it says where a policy places requests, not what a hop costs;
// bench:inference stays the measure. Same knobs as the bench: `--scenario=`, `--policies=`,
// `BENCH_SECONDS`, `BENCH_WEFT_CONFIG`; `--seeds=N` averages N traces.
import type { SimClock } from '../../deploy/sim/sim-clock.js';
import { SimEngine } from '../../deploy/sim/sim-engine.js';
import { promptBlockHashes } from '../../deploy/sim/prefix-cache.js';
import { seededRandom } from '../../deploy/sim/seeded-random.js';
import { fleetOf, type ServerParams } from '../../deploy/sim/sim-profile.js';
import { poolSaturated } from '../../proxy/filters/inference/endpoint-picker.js';
import type { EngineReading } from '../../control-plane/api/engine-load-scraper.js';
import { BackendInFlight } from '../../proxy/filters/inference/backend-in-flight.js';
import { BackendLoad } from '../../proxy/filters/inference/backend-load.js';
import { InferenceBalancer, inferenceBalancerSettings } from '../../proxy/filters/inference/inference-balancer.js';
import { releasePick, type InferenceRouting } from '../../proxy/filters/inference/inference-routing.js';
import { LoadTable } from '../../proxy/filters/inference/load-table.js';
import { estimatedPromptTokens, readOpenAiBody } from '../../proxy/filters/inference/openai-body.js';
import { prefixKey } from '../../proxy/filters/inference/prefix-key.js';
import { chatBody, FLEET, percentile, SCENARIOS, serversOf, trace, type Scenario, type TraceRequest } from './inference-trace.js';

const MODEL = 'sim/llama-3-8b';
const HOP_MS = 1;
const SCRAPE_MS = 50;
const ROUTE_TIMEOUT_MS = 15_000;
const POLICIES = ['rr', 'random', 'lif', 'weft'] as const;
type Policy = (typeof POLICIES)[number];

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const seeds = Number(arg('seeds') ?? 3);
const weftConfig = JSON.parse(process.env.BENCH_WEFT_CONFIG ?? '{}') as Record<string, unknown>;

/** Timers on a heap, run in order of their time: a run takes as long as its events, not its span. */
class VirtualClock implements SimClock {
  private time = 0;
  private seq = 0;
  private readonly heap: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  now = (): number => this.time;
  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + Math.max(0, ms), seq: (this.seq += 1), fn, cancelled: false };
    const heap = this.heap;
    heap.push(timer);
    for (let i = heap.length - 1, parent = (i - 1) >> 1; i > 0 && this.before(heap[i]!, heap[parent]!); i = parent, parent = (i - 1) >> 1) [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    return () => (timer.cancelled = true);
  }
  private before(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  run(): void {
    const heap = this.heap;
    while (heap.length > 0) {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          let min = i;
          for (const child of [2 * i + 1, 2 * i + 2]) if (child < heap.length && this.before(heap[child]!, heap[min]!)) min = child;
          if (min === i) break;
          [heap[i], heap[min]] = [heap[min]!, heap[i]!];
          i = min;
        }
      }
      this.time = top.at;
      if (!top.cancelled) top.fn();
    }
  }
}

interface Outcome {
  ttft: number;
  e2e: number;
  failed: boolean;
}

/** One policy over one trace: each request's outcome and the output tokens delivered while arrivals last. */
function replay(scenario: Scenario, requests: readonly TraceRequest[], policy: Policy, seed: number): { outcomes: Outcome[]; tokensPerSecond: number } {
  const clock = new VirtualClock();
  const fleet = serversOf(scenario).map((server) => FLEET[server]!).map((params, i) => fleetOf({ servers: [{ name: `gpu-${i}`, model: MODEL, ...params }] }).servers[0] as ServerParams);
  const engines = fleet.map((params) => new SimEngine(params, clock));
  const inFlight = engines.map(() => new BackendInFlight());
  const members = fleet.map((params) => ({ active: 0, label: params.name, metadata: { models: [MODEL] } }));
  const reported = inFlight.map((counted) => new BackendLoad(counted));
  const readings: (EngineReading | undefined)[] = engines.map(() => undefined);
  const scrape = (): void => {
    engines.forEach((engine, i) => {
      const load = engine.load();
      readings[i] = { load: { waiting: load.waiting, running: load.running, kvCacheUsage: load.kvUsage, runningLoras: [], waitingLoras: [] }, at: clock.now(), sampled: inFlight[i]!.count() };
    });
    // Until the last request is over, whatever its fate (the clock runs while timers are due).
    if (clock.now() < lastArrival + ROUTE_TIMEOUT_MS) clock.after(SCRAPE_MS, scrape);
  };
  const lastArrival = requests.at(-1)?.at ?? 0;
  scrape();
  const settings = inferenceBalancerSettings(weftConfig);
  const callers = [0, 1].map((c) => {
    const balancer = new InferenceBalancer(settings.picker, new LoadTable(settings.staleAfterMs, clock.now), settings.saturation, settings.queue);
    balancer.members = () => members;
    return { balancer, next: c, random: seededRandom(seed * 31 + c), active: members.map(() => 0) };
  });
  const endMs = seconds * 1000;
  let delivered = 0;
  const outcomes: Outcome[] = [];
  const pick = (caller: (typeof callers)[number], routing: InferenceRouting): number => {
    if (policy === 'rr') return (caller.next += 1) % members.length;
    if (policy === 'random') return Math.floor(caller.random() * members.length);
    if (policy === 'weft') return members.indexOf(caller.balancer.pick(members, { metadata: { inference: routing } })!);
    const fewest = Math.min(...caller.active);
    const tied = caller.active.flatMap((n, i) => (n === fewest ? [i] : []));
    return tied[Math.floor(caller.random() * tied.length)]!;
  };
  const send = (request: TraceRequest, routing: InferenceRouting, engineRequest: { promptTokens: number; blockHashes: string[] }, outcome: Outcome): void => {
    const caller = callers[request.caller]!;
    const { balancer } = caller;
    // As the balancer's priority queue: while every endpoint is past its bounds, wait, then shed.
    if (policy === 'weft' && poolSaturated(balancer.candidates(), settings.saturation, settings.picker.failureMode)) {
      if (clock.now() - request.at >= settings.queue.maxWaitMs) {
        outcome.failed = true;
        return;
      }
      clock.after(settings.queue.recheckMs, () => send(request, routing, engineRequest, outcome));
      return;
    }
    const index = pick(caller, routing);
    caller.active[index]! += 1;
    let firstAt = NaN;
    let lastAt = NaN;
    let done = false;
    const end = (failed: boolean): void => {
      if (done) return;
      done = true;
      caller.active[index]! -= 1;
      outcome.failed = failed;
      outcome.e2e = clock.now() - request.at;
      if (!failed && request.outputTokens > 1 && routing.picked !== undefined) routing.picked.table.observeStream(members[index]!.label, lastAt - firstAt, request.outputTokens - 1);
      releasePick(routing);
    };
    clock.after(HOP_MS, () => {
      const reading = readings[index];
      const ticket = routing.picked?.ticket;
      const counted = inFlight[index]!.start(routing.promptTokens, routing.outputTokens);
      if (reading !== undefined && ticket !== undefined) {
        const { load, at } = reported[index]!.report(reading, false, clock.now(), counted);
        clock.after(HOP_MS, () => routing.picked?.table.report(members[index]!.label, load, at, ticket));
      }
      const sequence = engines[index]!.submit({ ...engineRequest, outputTokens: request.outputTokens }, {
        token: (k) => {
          inFlight[index]!.generated(counted, k + 1);
          clock.after(HOP_MS, () => {
            if (done) return;
            if (k === 0) {
              firstAt = clock.now();
              outcome.ttft = firstAt - request.at;
            }
            lastAt = clock.now();
            if (lastAt <= endMs) delivered += 1;
            if (routing.picked !== undefined) routing.picked.table.generated(routing.picked.ticket, k + 1);
          });
        },
        finished: () => {
          inFlight[index]!.finish(counted);
          clock.after(HOP_MS, () => end(false));
        },
      });
      clock.after(ROUTE_TIMEOUT_MS - 2 * HOP_MS, () => {
        if (done) return;
        engines[index]!.cancel(sequence);
        inFlight[index]!.finish(counted);
        end(true);
      });
    });
  };
  for (const request of requests) {
    const outcome: Outcome = { ttft: NaN, e2e: NaN, failed: false };
    outcomes.push(outcome);
    const openAi = readOpenAiBody('chat', JSON.parse(chatBody(request, MODEL, `model-${seed}`)));
    const params = fleet[0]!;
    const promptTokens = estimatedPromptTokens(openAi, params.charsPerToken);
    const routing: InferenceRouting = {
      model: MODEL,
      tenant: `caller-${request.caller}`,
      estimatedTokens: promptTokens + request.outputTokens,
      promptTokens,
      outputTokens: request.outputTokens,
      prefixKey: prefixKey(openAi.promptText, { blockChars: 256, blocks: 4 }, MODEL, ''),
      picked: undefined,
    };
    const engineRequest = { promptTokens, blockHashes: promptBlockHashes(openAi.promptText, params.blockSize * params.charsPerToken, '', MODEL) };
    clock.after(request.at, () => send(request, routing, engineRequest, outcome));
  }
  clock.run();
  return { outcomes, tokensPerSecond: delivered / seconds };
}

/**
 * Requests per second the fleet completes with round robin when always busy (the bench measures
 * it closed loop; here 2,000 requests arrive 2 ms apart, far past the fleet, and the middle 60% of
 * their completions is timed).
 */
function capacity(scenario: Scenario, seed: number): number {
  const burst = trace(scenario, 1000, 60, seed).slice(0, 2000).map((r, i) => ({ ...r, at: i * 2, caller: i % 2 }));
  const { outcomes } = replay(scenario, burst, 'rr', seed);
  const ends = outcomes.flatMap((o, i) => (o.failed ? [] : [burst[i]!.at + o.e2e])).sort((a, b) => a - b);
  const from = ends[Math.floor(ends.length * 0.2)]!;
  const to = ends[Math.floor(ends.length * 0.8)]!;
  return (ends.length * 0.6) / ((to - from) / 1000);
}

const only = arg('scenario')?.split(',');
const policies = (arg('policies')?.split(',') ?? POLICIES) as Policy[];
process.stdout.write(`bench:inference-model: ${seconds} s per policy and trace, ${seeds} traces, in virtual time\n`);
const lines: string[] = [];
for (const [index, scenario] of SCENARIOS.entries()) {
  if (only !== undefined && !only.includes(scenario.name)) continue;
  const rate = capacity(scenario, 7 + index) * scenario.loadFactor;
  process.stdout.write(`\nscenario ${scenario.name}: ${scenario.title}\n  offered ${rate.toFixed(1)} req/s\n  policy  TTFT p50 TTFT p99  e2e p99  out tok/s  failed\n`);
  const results = new Map<Policy, { ttftP99: number; e2eP99: number; tokensPerSecond: number }>();
  for (const policy of policies) {
    const runs = Array.from({ length: seeds }, (_, s) => {
      const { outcomes, tokensPerSecond } = replay(scenario, trace(scenario, rate, seconds, 42 + index + 1000 * s), policy, s + 1);
      const served = outcomes.filter((o) => !o.failed);
      return { ttftP50: percentile(served.map((o) => o.ttft), 50), ttftP99: percentile(served.map((o) => o.ttft), 99), e2eP99: percentile(served.map((o) => o.e2e), 99), tokensPerSecond, failed: outcomes.length - served.length };
    });
    const mean = (key: keyof (typeof runs)[number]): number => runs.reduce((sum, run) => sum + run[key], 0) / runs.length;
    results.set(policy, { ttftP99: mean('ttftP99'), e2eP99: mean('e2eP99'), tokensPerSecond: mean('tokensPerSecond') });
    process.stdout.write(`  ${policy.padEnd(6)}${mean('ttftP50').toFixed(1).padStart(9)}${mean('ttftP99').toFixed(1).padStart(9)}${mean('e2eP99').toFixed(1).padStart(9)}${mean('tokensPerSecond').toFixed(0).padStart(11)}${mean('failed').toFixed(0).padStart(8)}\n`);
  }
  const [weft, rr, random] = (['weft', 'rr', 'random'] as const).map((p) => results.get(p));
  if (weft === undefined || rr === undefined || random === undefined) continue;
  const ratio = (value: number, baseline: number): string => (value / baseline).toFixed(2);
  lines.push(`inference model: scenario=${scenario.name} ttft_p99_ratio=${ratio(weft.ttftP99, Math.min(rr.ttftP99, random.ttftP99))} e2e_p99_ratio=${ratio(weft.e2eP99, Math.min(rr.e2eP99, random.e2eP99))} throughput_ratio=${ratio(weft.tokensPerSecond, Math.max(rr.tokensPerSecond, random.tokensPerSecond))}`);
}
process.stdout.write(`\n${lines.join('\n')}\n`);
