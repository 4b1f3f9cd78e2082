// `weft_authz_decisions_total{decision, policy, asset}`: one counter per sidecar registry (filters
// are rebuilt with every snapshot, the counter is not), with each label set's child resolved once
// and held by the filter's plan for each policy and asset.
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { DecisionOutcome } from '../../telemetry/decision-log.js';
import type { SidecarMetrics } from '../../telemetry/metrics.js';

const require = createRequire(import.meta.url);
const Counter = require('prom-client/lib/counter.js') as typeof PromClient.Counter;

type Labels = 'decision' | 'policy' | 'asset';

/** The counter's children for one policy and asset, each resolved when first counted. */
export class DecisionCounts {
  private readonly children: Partial<Record<DecisionOutcome, PromClient.Counter.Internal>> = {};

  constructor(
    private readonly counter: PromClient.Counter<Labels>,
    private readonly policy: string,
    private readonly asset: string,
  ) {}

  inc(decision: DecisionOutcome): void {
    (this.children[decision] ??= this.counter.labels({ decision, policy: this.policy, asset: this.asset })).inc();
  }
}

export class AuthzDecisionCounter {
  private readonly counts = new Map<string, DecisionCounts>();

  constructor(private readonly counter: PromClient.Counter<Labels>) {}

  /** Asked when a filter is built, so that a decision costs no label lookup. */
  forPolicy(policy: string, asset: string): DecisionCounts {
    const key = `${policy}\u0000${asset}`;
    let counts = this.counts.get(key);
    if (counts === undefined) {
      counts = new DecisionCounts(this.counter, policy, asset);
      this.counts.set(key, counts);
    }
    return counts;
  }
}

const counters = new WeakMap<SidecarMetrics, AuthzDecisionCounter>();

export function authzDecisionCounter(metrics: SidecarMetrics): AuthzDecisionCounter {
  let counter = counters.get(metrics);
  if (counter === undefined) {
    counter = new AuthzDecisionCounter(
      new Counter({
        name: 'weft_authz_decisions_total',
        help: 'Authorization decisions by outcome, policy and asset',
        labelNames: ['decision', 'policy', 'asset'],
        registers: [metrics.registry],
      }),
    );
    counters.set(metrics, counter);
  }
  return counter;
}
