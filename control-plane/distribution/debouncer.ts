// Coalesces bursts of changes into one action: runs `action` once no change arrived for
// `quietMs`, and at the latest `maxMs` after the first change of the burst (so a steady stream
// of changes cannot postpone pushes forever).
export class Debouncer {
  readonly #quietMs: number;
  readonly #maxMs: number;
  readonly #action: () => void;
  #firstAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(quietMs: number, maxMs: number, action: () => void) {
    this.#quietMs = quietMs;
    this.#maxMs = maxMs;
    this.#action = action;
  }

  trigger(): void {
    const now = Date.now();
    this.#firstAt ??= now;
    clearTimeout(this.#timer);
    const delay = Math.max(0, Math.min(this.#quietMs, this.#firstAt + this.#maxMs - now));
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#firstAt = undefined;
    this.#timer = undefined;
    this.#action();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firstAt = undefined;
  }
}
