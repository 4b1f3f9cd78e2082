// The scenarios of bench:inference (issue 13) and their traces: seeded open-loop Poisson
// arrivals, each request a streamed chat completion with `ignore_eos` (so its output length is
// exactly what the trace says), shared by the two callers. The same seed gives the same trace
// for every policy; a run's nonce goes first in every prompt so no run finds a prefix cache
// warmed by the one before it.
import { seededRandom } from '../../deploy/sim/seeded-random.js';

/** The `weft sim vllm` parameters the scenarios vary (see deploy/sim/README.md). */
export interface SimParams {
  readonly maxNumSeqs: number;
  readonly kvCacheTokens: number;
  readonly prefixCacheBlocks: number;
  readonly prefillMsPerToken: number;
  readonly decodeMsBase: number;
  readonly decodeMsPerSeq: number;
}

export interface TraceRequest {
  /** ms after the run's start. */
  readonly at: number;
  /** Which caller sidecar sends it. */
  readonly caller: number;
  /** The prompt, after the run's nonce. */
  readonly prompt: string;
  /** A system prompt the request shares with its tenant's other requests, if any. */
  readonly system: string | undefined;
  readonly outputTokens: number;
}

export interface Scenario {
  readonly name: 'A' | 'B' | 'D' | 'E';
  readonly title: string;
  /** Whether the fourth server is SLOW_GPU (else GPU like the others). */
  readonly slowBackend: boolean;
  /** Offered load as a fraction of the capacity measured for this scenario's requests. */
  readonly loadFactor: number;
  /** One request's shape (without its arrival time and caller). */
  readonly request: (random: () => number) => Omit<TraceRequest, 'at' | 'caller'>;
}


const CHARS_PER_TOKEN = 4;
const WORDS = ['lorem', 'ipsum', 'dolor', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'tempor', 'labore', 'magna', 'aliqua', 'enim', 'minim', 'veniam', 'quis'];

/** About `tokens` tokens of words drawn from `random` (so prompts differ from their first block). */
function text(tokens: number, random: () => number): string {
  const parts: string[] = [];
  let length = 0;
  while (length < tokens * CHARS_PER_TOKEN) {
    const word = WORDS[(random() * WORDS.length) | 0]!;
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ').slice(0, tokens * CHARS_PER_TOKEN);
}

/** Log-normal around `median`, clamped: the long tail of chat prompts and answers. */
function logNormal(random: () => number, median: number, sigma: number, min: number, max: number): number {
  const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.round(Math.min(max, Math.max(min, median * Math.exp(sigma * gaussian))));
}

// Times chosen so the simulated GPU, not Node's timers on a busy machine, sets the latencies:
// prefill 0.25 ms a token (TTFT tens to hundreds of ms), 40 ms + 6 ms per running sequence
// between tokens, six slots per server; few tokens per request, so the sidecars carry few events.
// Each server's prefix cache holds 9 system prompts of scenario E.
export const GPU: SimParams = { maxNumSeqs: 6, kvCacheTokens: 32_768, prefixCacheBlocks: 850, prefillMsPerToken: 0.25, decodeMsBase: 40, decodeMsPerSeq: 6 };
export const SLOW_GPU: SimParams = { ...GPU, prefillMsPerToken: 0.5, decodeMsBase: 80, decodeMsPerSeq: 12 };

/** Servers 0-3 are the homogeneous fleet; a scenario with a slow backend swaps server 3 for server 4. */
export const FLEET: readonly SimParams[] = [GPU, GPU, GPU, GPU, SLOW_GPU];
export const serversOf = (scenario: Pick<Scenario, 'slowBackend'>): number[] => (scenario.slowBackend ? [0, 1, 2, 4] : [0, 1, 2, 3]);

/** The `p`th percentile of the values that are numbers (NaN: none). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const chat = (random: () => number): Omit<TraceRequest, 'at' | 'caller'> => ({
  prompt: text(logNormal(random, 120, 0.9, 16, 1200), random),
  system: undefined,
  outputTokens: logNormal(random, 8, 0.9, 2, 40),
});

const TENANTS = 24;
const SYSTEM_TOKENS = 1500;
const systemPrompts = Array.from({ length: TENANTS }, (_, tenant) => `tenant ${tenant}: ${text(SYSTEM_TOKENS, seededRandom(1000 + tenant))}`);

export const SCENARIOS: readonly Scenario[] = [
  { name: 'A', title: 'heavy-tailed chat, homogeneous fleet, 85% of capacity', slowBackend: false, loadFactor: 0.85, request: chat },
  { name: 'B', title: 'heavy-tailed chat, one server 2x slower, 85% of capacity', slowBackend: true, loadFactor: 0.85, request: chat },
  {
    name: 'D',
    title: 'uniform short requests, 85% of capacity',
    slowBackend: false,
    loadFactor: 0.85,
    request: (random) => ({ prompt: text(64, random), system: undefined, outputTokens: 6 }),
  },
  {
    // Prefill dominates: 1500 shared tokens cost 375 ms uncached, three output tokens about
    // 200 ms. A server's prefix cache holds its share of the 24 system prompts (6) when
    // prefixes stay home, a third of what it sees when requests are spread.
    name: 'E',
    title: `shared prefixes: ${TENANTS} tenants x ${SYSTEM_TOKENS}-token system prompt, short suffixes, 1.7x the capacity measured with round robin`,
    slowBackend: false,
    loadFactor: 1.7,
    request: (random) => ({ prompt: text(32, random), system: systemPrompts[(random() * TENANTS) | 0], outputTokens: 3 }),
  },
];

/** `seconds` of Poisson arrivals at `rate` requests/s, alternating at random between two callers. */
export function trace(scenario: Scenario, rate: number, seconds: number, seed: number): TraceRequest[] {
  const random = seededRandom(seed);
  const requests: TraceRequest[] = [];
  for (let at = -Math.log(1 - random()) * (1000 / rate); at < seconds * 1000; at += -Math.log(1 - random()) * (1000 / rate)) {
    requests.push({ at, caller: random() < 0.5 ? 0 : 1, ...scenario.request(random) });
  }
  return requests;
}

/** The chat body of one request in a run: the nonce first, so caches start cold each run. */
export function chatBody(request: Omit<TraceRequest, 'at' | 'caller'>, model: string, nonce: string): string {
  const messages = request.system === undefined
    ? [{ role: 'user', content: `${nonce} ${request.prompt}` }]
    : [{ role: 'system', content: `${nonce} ${request.system}` }, { role: 'user', content: request.prompt }];
  return JSON.stringify({ model, messages, max_tokens: request.outputTokens, ignore_eos: true, stream: true });
}
