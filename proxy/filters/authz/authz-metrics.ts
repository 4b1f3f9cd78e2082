// `weft_authz_decisions_total{decision, policy, asset}`: one counter per sidecar registry (filters
// are rebuilt with every snapshot, the counter is not), with each label set's child resolved once.
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { DecisionOutcome } from '../../telemetry/decision-log.js';
import type { SidecarMetrics } from '../../telemetry/metrics.js';

const require = createRequire(import.meta.url);
const Counter = require('prom-client/lib/counter.js') as typeof PromClient.Counter;

type Labels = 'decision' | 'policy' | 'asset';

export class AuthzDecisionCounter {
  private readonly children = new Map<string, PromClient.Counter.Internal>();

  constructor(private readonly counter: PromClient.Counter<Labels>) {}

  inc(decision: DecisionOutcome, policy: string, asset: string): void {
    const key = `${decision}\u0000${policy}\u0000${asset}`;
    let child = this.children.get(key);
    if (child === undefined) {
      child = this.counter.labels({ decision, policy, asset });
      this.children.set(key, child);
    }
    child.inc();
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
