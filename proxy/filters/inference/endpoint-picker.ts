// The inference picker: a pure function from what a caller's sidecar knows of a pool's
// endpoints to one endpoint for one request. Filter to endpoints that serve the model or LoRA
// adapter; score by queue depth (requests waiting or running there, weighed by how slowly the
// endpoint turns them over), KV-cache use and in-flight tokens (each normalised over the
// candidates), a LoRA adapter already active, and prefix affinity (the prefix key's home by
// bounded-load rendezvous hashing); lowest score wins, ties served in turn (or to the home of
// a prefix seen once, see PickRequest.tieBreakKey). Load older than the pool's staleness bound
// reads as saturated, except that under FailOpen a stale endpoint this caller sent nothing for a
// staleness window takes one request as if idle (a probe: its answer brings its load back, so a
// caller that learns load only from answers keeps every endpoint in view). With no fresh load at all
// the failure mode decides: FailOpen picks the least in flight from this caller, FailClose refuses.
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
  /** Stale, and this caller has sent it nothing for a staleness window: a request there would bring its load back. */
  readonly probeDue: boolean;
  /** Its requests (the other callers' at the last report less those since ended, this caller's now) past its slot count, once known; the rest run. */
  readonly waiting: number;
  readonly running: number;
  /** 0..1 */
  readonly kvCacheUsage: number;
  readonly inFlightTokens: number;
  /** LoRA adapters loaded (running or waiting) on the engine. */
  readonly activeLoras: readonly string[];
  /** This caller's requests in flight to it now. */
  readonly callerInFlight: number;
  /** Its pace: time between two tokens of its streams at a light batch, as this caller saw them (ms, > 0; undefined: none yet). */
  readonly interTokenMs: number | undefined;
}

/** An endpoint's bound: past either, it takes no more work without queueing it. */
export interface SaturationBounds {
  readonly waiting: number;
  /** 0..1 */
  readonly kvCacheUsage: number;
}

export interface PickerSettings {
  readonly weights: PickerWeights;
  readonly affinityLoadBound: number;
  readonly failureMode: 'FailOpen' | 'FailClose';
}

/** Whether the endpoint's fresh load is past one of the bounds. */
const pastBounds = (candidate: CandidateLoad, bounds: SaturationBounds): boolean => candidate.waiting >= bounds.waiting || candidate.kvCacheUsage >= bounds.kvCacheUsage;

/**
 * Whether the pool has no room: every endpoint over its bound. Judged on fresh load: with none at
 * all the failure mode decides (FailOpen sends, FailClose refuses), not a queue. Under FailOpen
 * an endpoint with stale load may have room (the picker sends there); under FailClose it counts
 * as over.
 */
export function poolSaturated(candidates: readonly CandidateLoad[], bounds: SaturationBounds, failureMode: PickerSettings['failureMode']): boolean {
  if (!candidates.some((c) => c.fresh)) return false;
  return candidates.every((c) => (c.fresh ? pastBounds(c, bounds) : failureMode === 'FailClose'));
}

export interface PickRequest {
  readonly model: string;
  /** See prefix-key.ts; undefined: no prefix affinity. */
  readonly prefixKey: string | undefined;
  /**
   * A prefix key not yet earning affinity (seen once): its home wins only among equal scores,
   * instead of the next in turn, so its first request warms the cache where the next ones, from
   * any caller, will go, at no cost in load.
   */
  readonly tieBreakKey?: string;
}

/** Why an endpoint won: its load, its holding the prefix, or no load known (fail open). */
export type PickedBy = 'load' | 'affinity' | 'fail-open';

export type PickOutcome =
  | { readonly picked: true; readonly index: number; readonly by: PickedBy }
  | { readonly picked: false; readonly code: 'INFERENCE_MODEL_NOT_SERVED' | 'INFERENCE_LOAD_UNKNOWN' };

/** Scores this close count as equal (a KV-cache reading's last digits decide nothing). */
const TIE = 0.02;

/** Paces within this ratio of the fastest endpoint's count as the same. */
const SAME_PACE = 1.25;

/**
 * Index among `values` of a minimum: `preferred` if it is one, else among equals the first at or
 * after `turn` (mod their number), so equal loads are served in turn, as round robin would.
 */
function lowestInTurn(values: readonly number[], turn: number, preferred?: number): number {
  let min = Infinity;
  for (const value of values) if (value < min) min = value;
  if (preferred !== undefined && values[preferred]! - min <= TIE) return preferred;
  const start = turn % values.length;
  for (let step = 0; step < values.length; step += 1) {
    const index = (start + step) % values.length;
    if (values[index]! - min <= TIE) return index;
  }
  return 0;
}

/** `turn`: a count the caller moves on each pick (ties are served in turn). */
export function pickEndpoint(candidates: readonly CandidateLoad[], request: PickRequest, settings: PickerSettings, turn = 0): PickOutcome {
  const serving: number[] = [];
  candidates.forEach((candidate, index) => {
    if (candidate.models.includes(request.model) || candidate.loras.includes(request.model)) serving.push(index);
  });
  if (serving.length === 0) return { picked: false, code: 'INFERENCE_MODEL_NOT_SERVED' };
  const pool = serving.map((index) => candidates[index]!);
  if (!pool.some((candidate) => candidate.fresh)) {
    if (settings.failureMode === 'FailClose') return { picked: false, code: 'INFERENCE_LOAD_UNKNOWN' };
    return { picked: true, index: serving[lowestInTurn(pool.map((c) => c.callerInFlight), turn)]!, by: 'fail-open' };
  }
  const { weights } = settings;
  const isLora = pool.some((candidate) => candidate.loras.includes(request.model));
  // Queue depth counts running requests as well as waiting ones: with the engine's slot count
  // unknown, the fewest requests there is the best guess of the first free slot.
  const depth = (candidate: CandidateLoad): number => candidate.waiting + candidate.running;
  let fastest = Infinity;
  for (const candidate of pool) if (candidate.fresh && candidate.interTokenMs !== undefined) fastest = Math.min(fastest, candidate.interTokenMs);
  // A slot frees as often as the endpoint makes tokens: a queue on one twice as slow waits twice
  // as long. The one more is the request being placed (an idle slow endpoint still costs more).
  // Paces close to the fastest count as equal: what a stream shows also moves with the batch it
  // shared, and a small persistent skew would pile requests on whichever endpoint looked fastest.
  const slowness = (candidate: CandidateLoad): number => {
    const ratio = candidate.interTokenMs === undefined || !Number.isFinite(fastest) ? 1 : candidate.interTokenMs / fastest;
    return ratio < SAME_PACE ? 1 : ratio;
  };
  const queueCost = (candidate: CandidateLoad): number => (depth(candidate) + 1) * slowness(candidate);
  let maxQueueCost = 1;
  let maxTokens = 1;
  for (const candidate of pool) {
    if (!candidate.fresh) continue;
    maxQueueCost = Math.max(maxQueueCost, queueCost(candidate));
    maxTokens = Math.max(maxTokens, candidate.inFlightTokens);
  }
  const saturated = weights.queue + weights.kvCache + weights.inFlightTokens;
  // Under FailOpen a stale endpoint this caller has sent nothing for a staleness window takes one
  // request as if idle: its answer brings its load back (a caller that learns load only from
  // answers would otherwise never send there again). Otherwise it reads as saturated.
  const probe = (candidate: CandidateLoad): boolean => settings.failureMode === 'FailOpen' && candidate.probeDue;
  const homeKey = request.prefixKey ?? request.tieBreakKey;
  const home = homeKey === undefined
    ? undefined
    : boundedRendezvous(homeKey, pool.map((c) => ({ id: c.id, load: c.fresh ? depth(c) : probe(c) ? 0 : Infinity })), settings.affinityLoadBound);
  const affinityHome = request.prefixKey === undefined ? undefined : home;
  const scores = pool.map((candidate, i) => {
    const loraCost = isLora && !candidate.activeLoras.includes(request.model) ? weights.lora : 0;
    let load = saturated;
    if (candidate.fresh) load = weights.queue * (queueCost(candidate) / maxQueueCost) + weights.kvCache * candidate.kvCacheUsage + weights.inFlightTokens * (candidate.inFlightTokens / maxTokens);
    else if (probe(candidate)) load = weights.queue / maxQueueCost;
    return load + loraCost - (i === affinityHome ? weights.prefixAffinity : 0);
  });
  const best = lowestInTurn(scores, turn, home);
  return { picked: true, index: serving[best]!, by: best === affinityHome && weights.prefixAffinity > 0 ? 'affinity' : 'load' };
}
