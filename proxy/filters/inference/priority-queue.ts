// Admission by priority at the caller while its pool is saturated (every endpoint over its
// bound, endpoint-picker.ts `isSaturated`): requests wait briefly, highest priority first, then
// earliest deadline (a TTFT objective's: arrival + objective), then first come; sheddable ones
// (priority below zero) are refused at once. The queue is bounded (a newcomer served before the
// last waiting takes its place, and that one is shed) and so is the wait. It admits one request each time the load may have fallen (a report, a
// request finished), then checks again once that request had its pick counted; while requests
// wait it also checks every `recheckMs`, so that load turning stale (no report comes while
// nothing is sent) frees the queue.

export type Admission = 'admitted' | 'shed';

export interface PriorityQueueSettings {
  readonly maxQueued: number;
  readonly maxWaitMs: number;
  readonly recheckMs: number;
}

interface Waiter {
  readonly priority: number;
  /** When its TTFT objective runs out (performance.now() ms); Infinity: it has none. */
  readonly deadline: number;
  readonly settle: (admission: Admission) => void;
  timer: NodeJS.Timeout | undefined;
}

/** A request's place in the queue; `cancel` when it ends while waiting (the caller went away). */
export interface QueuedAdmission {
  readonly admission: Promise<Admission>;
  cancel(): void;
}

/** Whether a request of `priority` and `deadline` is served before `other` (equals: first come first). */
const goesBefore = (priority: number, deadline: number, other: Waiter): boolean =>
  priority > other.priority || (priority === other.priority && deadline < other.deadline);

export class PriorityAdmissionQueue {
  /** Highest priority first, then earliest deadline, then first come. */
  private readonly waiting: Waiter[] = [];
  private wakeScheduled = false;
  private recheck: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly settings: PriorityQueueSettings,
    /** Whether the pool is saturated now. */
    private readonly saturated: () => boolean,
  ) {}

  get length(): number {
    return this.waiting.length;
  }

  /** `admitted` or `shed` at once, or a place in the queue; `deadline` orders requests of one priority. */
  admit(priority: number, deadline = Infinity): Admission | QueuedAdmission {
    if (this.waiting.length === 0 && !this.saturated()) return 'admitted';
    if (priority < 0 || this.settings.maxQueued === 0) return 'shed';
    if (this.waiting.length >= this.settings.maxQueued) {
      const lowest = this.waiting.at(-1)!;
      if (!goesBefore(priority, deadline, lowest)) return 'shed';
      this.remove(lowest);
      lowest.settle('shed');
    }
    let settle!: (admission: Admission) => void;
    const admission = new Promise<Admission>((resolve) => (settle = resolve));
    const waiter: Waiter = { priority, deadline, settle, timer: undefined };
    waiter.timer = setTimeout(() => {
      this.remove(waiter);
      settle('shed');
    }, this.settings.maxWaitMs);
    const at = this.waiting.findIndex((other) => goesBefore(priority, deadline, other));
    this.waiting.splice(at === -1 ? this.waiting.length : at, 0, waiter);
    this.recheck ??= setInterval(() => this.wake(), this.settings.recheckMs).unref();
    this.scheduleWake();
    return { admission, cancel: () => this.remove(waiter) };
  }

  /** The load may have fallen: admit the head if the pool has room. */
  wake(): void {
    const head = this.waiting[0];
    if (head === undefined || this.saturated()) return;
    this.remove(head);
    head.settle('admitted');
    // Checked again after the admitted request's pick counted against its endpoint.
    this.scheduleWake();
  }

  private scheduleWake(): void {
    if (this.wakeScheduled || this.waiting.length === 0) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wake();
    });
  }

  private remove(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    const at = this.waiting.indexOf(waiter);
    if (at !== -1) this.waiting.splice(at, 1);
    if (this.waiting.length > 0) return;
    clearInterval(this.recheck);
    this.recheck = undefined;
  }
}
