// The inference picker: a pure function from what a caller's sidecar knows of a pool's
// endpoints to one endpoint for one request. Filter to endpoints that serve the model or LoRA
// adapter; score by queue depth (requests waiting or running there), KV-cache use and in-flight
// tokens (each normalised over the candidates), a LoRA adapter already active, and prefix affinity (the prefix key's home by
// bounded-load rendezvous hashing); lowest score wins, ties broken at random (or to the
// home of a prefix seen once, see PickRequest.tieBreakKey). Load older than
// the pool's staleness bound counts as saturated; with no fresh load at all the pool's failure
// mode decides: FailOpen picks the least in flight from this caller, FailClose refuses.
import type { PickerWeights } from '../../../control-plane/api/resource-types.js';
import { boundedRendezvous } from './rendezvous.js';

export interface CandidateLoad {
  /** Stable across callers (the endpoint's address): rendezvous hashing keys on it. */
  readonly id: string;
  /** Models and LoRA adapters it serves (from the pool, or discovered). */
  readonly models: readonly string[];
  readonly loras: readonly string[];
  /** Whether the load below is recent enough to believe. */
  readonly fresh: boolean;
  /** The engine's queue, plus this caller's requests sent since that report. */
  readonly waiting: number;
  readonly running: number;
  /** 0..1 */
  readonly kvCacheUsage: number;
  readonly inFlightTokens: number;
  /** LoRA adapters loaded (running or waiting) on the engine. */
  readonly activeLoras: readonly string[];
  /** This caller's requests in flight to it now. */
  readonly callerInFlight: number;
}

export interface PickerSettings {
  readonly weights: PickerWeights;
  readonly affinityLoadBound: number;
  readonly failureMode: 'FailOpen' | 'FailClose';
}

/** An endpoint's bound: past either, it takes no more work without queueing it. */
export interface SaturationBounds {
  readonly waiting: number;
  /** 0..1 */
  readonly kvCacheUsage: number;
}

/**
 * Whether every endpoint is over its bound, stale load counting as over. Judged on fresh load
 * only: with none at all the failure mode decides (FailOpen sends, FailClose refuses), not a queue.
 */
export function poolSaturated(candidates: readonly CandidateLoad[], bounds: SaturationBounds): boolean {
  return candidates.some((c) => c.fresh) && candidates.every((c) => !c.fresh || c.waiting >= bounds.waiting || c.kvCacheUsage >= bounds.kvCacheUsage);
}

export interface PickRequest {
  readonly model: string;
  /** See prefix-key.ts; undefined: no prefix affinity. */
  readonly prefixKey: string | undefined;
  /**
   * A prefix key not yet earning affinity (seen once): its home wins only among equal scores,
   * instead of a random one, so its first request warms the cache where the next ones, from
   * any caller, will go, at no cost in load.
   */
  readonly tieBreakKey?: string;
}

/** Why an endpoint won: its load, its holding the prefix, or no load known (fail open). */
export type PickedBy = 'load' | 'affinity' | 'fail-open';

export type PickOutcome =
  | { readonly picked: true; readonly index: number; readonly by: PickedBy }
  | { readonly picked: false; readonly code: 'INFERENCE_MODEL_NOT_SERVED' | 'INFERENCE_LOAD_UNKNOWN' };

const TIE = 1e-9;

/** Index among `values` of a minimum: `preferred` if it is one, else a random one among equals. */
function randomMinimum(values: readonly number[], random: () => number, preferred?: number): number {
  let min = Infinity;
  for (const value of values) if (value < min) min = value;
  const ties: number[] = [];
  values.forEach((value, index) => {
    if (value - min <= TIE) ties.push(index);
  });
  if (preferred !== undefined && ties.includes(preferred)) return preferred;
  return ties[Math.floor(random() * ties.length)] ?? ties[0]!;
}

export function pickEndpoint(candidates: readonly CandidateLoad[], request: PickRequest, settings: PickerSettings, random: () => number = Math.random): PickOutcome {
  const serving: number[] = [];
  candidates.forEach((candidate, index) => {
    if (candidate.models.includes(request.model) || candidate.loras.includes(request.model)) serving.push(index);
  });
  if (serving.length === 0) return { picked: false, code: 'INFERENCE_MODEL_NOT_SERVED' };
  const pool = serving.map((index) => candidates[index]!);
  if (!pool.some((candidate) => candidate.fresh)) {
    if (settings.failureMode === 'FailClose') return { picked: false, code: 'INFERENCE_LOAD_UNKNOWN' };
    return { picked: true, index: serving[randomMinimum(pool.map((c) => c.callerInFlight), random)]!, by: 'fail-open' };
  }
  const { weights } = settings;
  const isLora = pool.some((candidate) => candidate.loras.includes(request.model));
  // Queue depth counts running requests as well as waiting ones: with the engine's slot count
  // unknown, the fewest requests there is the best guess of the first free slot.
  const depth = (candidate: CandidateLoad): number => candidate.waiting + candidate.running;
  let maxDepth = 1;
  let maxTokens = 1;
  for (const candidate of pool) {
    if (!candidate.fresh) continue;
    maxDepth = Math.max(maxDepth, depth(candidate));
    maxTokens = Math.max(maxTokens, candidate.inFlightTokens);
  }
  const homeKey = request.prefixKey ?? request.tieBreakKey;
  const home = homeKey === undefined
    ? undefined
    : boundedRendezvous(homeKey, pool.map((c) => ({ id: c.id, load: c.fresh ? depth(c) : Infinity })), settings.affinityLoadBound);
  const affinityHome = request.prefixKey === undefined ? undefined : home;
  const scores = pool.map((candidate, i) => {
    const loraCost = isLora && !candidate.activeLoras.includes(request.model) ? weights.lora : 0;
    // Stale or missing load reads as a full queue, a full cache and the most tokens.
    const load = candidate.fresh
      ? weights.queue * (depth(candidate) / maxDepth) + weights.kvCache * candidate.kvCacheUsage + weights.inFlightTokens * (candidate.inFlightTokens / maxTokens)
      : weights.queue + weights.kvCache + weights.inFlightTokens;
    return load + loraCost - (i === affinityHome ? weights.prefixAffinity : 0);
  });
  const best = randomMinimum(scores, random, home);
  return { picked: true, index: serving[best]!, by: best === affinityHome && weights.prefixAffinity > 0 ? 'affinity' : 'load' };
}
