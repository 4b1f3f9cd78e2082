// The latency model of one simulated GPU model server, as vLLM schedules: `maxNumSeqs` running
// slots and a FIFO waiting queue (the head waits until a slot and its KV space are free).
// - TTFT = queue wait + prefillMsPerToken x the prompt tokens not found in the prefix cache.
// - Each later token follows after decodeMsBase + decodeMsPerSeq x (sequences running), so
//   inter-token latency grows with the batch.
// - A running sequence reserves KV space for its prompt and all its output at admission (no
//   preemption); reported usage is what running sequences hold (prompt + tokens so far).
import type { SimClock } from './sim-clock.js';
import { PrefixCache } from './prefix-cache.js';

export interface EngineParams {
  readonly maxNumSeqs: number;
  readonly kvCacheTokens: number;
  /** Tokens per KV block (vLLM's block_size). */
  readonly blockSize: number;
  readonly prefixCacheBlocks: number;
  readonly prefillMsPerToken: number;
  readonly decodeMsBase: number;
  readonly decodeMsPerSeq: number;
}

export interface EngineRequest {
  readonly promptTokens: number;
  /** Chain hashes of the prompt's full blocks (see prefix-cache.ts). */
  readonly blockHashes: readonly string[];
  /** Tokens it generates before it stops (max_tokens, or where EOS falls). */
  readonly outputTokens: number;
  readonly lora?: string;
}

export interface SequenceEvents {
  /** Token `index` (0-based) is out; the first one ends the prefill. */
  token(index: number): void;
  finished(): void;
}

export interface EngineLoad {
  readonly waiting: number;
  readonly running: number;
  /** Fraction of KV capacity running sequences hold, 0..1. */
  readonly kvUsage: number;
  readonly runningLoras: readonly string[];
  readonly waitingLoras: readonly string[];
}

export interface EngineTotals {
  promptTokens: number;
  generationTokens: number;
  prefixQueryTokens: number;
  prefixHitTokens: number;
}

export class Sequence {
  state: 'waiting' | 'running' | 'finished' | 'cancelled' = 'waiting';
  cachedTokens = 0;
  generated = 0;
  readonly enqueuedAt: number;
  admittedAt: number | undefined;
  cancelTimer: (() => void) | undefined;

  constructor(readonly request: EngineRequest, readonly events: SequenceEvents, now: number) {
    this.enqueuedAt = now;
  }

  get reservedTokens(): number {
    return this.request.promptTokens + this.request.outputTokens;
  }
}

export class SimEngine {
  private readonly waiting: Sequence[] = [];
  private readonly running = new Set<Sequence>();
  private reservedTokens = 0;
  private readonly prefixCache: PrefixCache;
  readonly totals: EngineTotals = { promptTokens: 0, generationTokens: 0, prefixQueryTokens: 0, prefixHitTokens: 0 };

  constructor(readonly params: EngineParams, private readonly clock: SimClock) {
    this.prefixCache = new PrefixCache(params.prefixCacheBlocks);
  }

  /** Whether a request could ever run here (its prompt and output fit the KV capacity). */
  fits(request: Pick<EngineRequest, 'promptTokens' | 'outputTokens'>): boolean {
    return request.promptTokens + request.outputTokens <= this.params.kvCacheTokens;
  }

  submit(request: EngineRequest, events: SequenceEvents): Sequence {
    if (!this.fits(request)) throw new RangeError(`${request.promptTokens + request.outputTokens} tokens exceed the KV capacity of ${this.params.kvCacheTokens}`);
    const sequence = new Sequence(request, events, this.clock.now());
    this.waiting.push(sequence);
    this.admit();
    return sequence;
  }

  /** A client went away: its slot and KV space are free at once. */
  cancel(sequence: Sequence): void {
    if (sequence.state === 'waiting') {
      this.waiting.splice(this.waiting.indexOf(sequence), 1);
    } else if (sequence.state === 'running') {
      sequence.cancelTimer?.();
      this.release(sequence);
    } else {
      return;
    }
    sequence.state = 'cancelled';
    this.admit();
  }

  load(): EngineLoad {
    let held = 0;
    for (const sequence of this.running) held += sequence.request.promptTokens + sequence.generated;
    const lorasOf = (sequences: Iterable<Sequence>): string[] =>
      [...new Set([...sequences].flatMap((s) => (s.request.lora === undefined ? [] : [s.request.lora])))].sort();
    return {
      waiting: this.waiting.length,
      running: this.running.size,
      kvUsage: held / this.params.kvCacheTokens,
      runningLoras: lorasOf(this.running),
      waitingLoras: lorasOf(this.waiting),
    };
  }

  /** The pause before the next token of a running sequence, at the current batch size. */
  interTokenMs(): number {
    return this.params.decodeMsBase + this.params.decodeMsPerSeq * this.running.size;
  }

  private admit(): void {
    for (;;) {
      const head = this.waiting[0];
      if (head === undefined || this.running.size >= this.params.maxNumSeqs) return;
      if (this.reservedTokens + head.reservedTokens > this.params.kvCacheTokens) return;
      this.waiting.shift();
      this.start(head);
    }
  }

  private start(sequence: Sequence): void {
    const { request } = sequence;
    sequence.state = 'running';
    sequence.admittedAt = this.clock.now();
    this.running.add(sequence);
    this.reservedTokens += sequence.reservedTokens;
    // vLLM always computes the last prompt token, so a fully cached prompt still costs one.
    const hitBlocks = this.prefixCache.lookup(request.blockHashes);
    sequence.cachedTokens = Math.min(hitBlocks * this.params.blockSize, request.promptTokens - 1);
    this.totals.promptTokens += request.promptTokens;
    this.totals.prefixQueryTokens += request.promptTokens;
    this.totals.prefixHitTokens += sequence.cachedTokens;
    const prefillMs = (request.promptTokens - sequence.cachedTokens) * this.params.prefillMsPerToken;
    sequence.cancelTimer = this.clock.after(prefillMs, () => {
      this.prefixCache.insert(request.blockHashes);
      this.emit(sequence);
    });
  }

  private emit(sequence: Sequence): void {
    const index = sequence.generated;
    sequence.generated += 1;
    this.totals.generationTokens += 1;
    sequence.events.token(index);
    if (sequence.state !== 'running') return;
    if (sequence.generated >= sequence.request.outputTokens) {
      sequence.state = 'finished';
      this.release(sequence);
      sequence.events.finished();
      this.admit();
      return;
    }
    sequence.cancelTimer = this.clock.after(this.interTokenMs(), () => this.emit(sequence));
  }

  private release(sequence: Sequence): void {
    sequence.cancelTimer = undefined;
    this.running.delete(sequence);
    this.reservedTokens -= sequence.reservedTokens;
  }
}
