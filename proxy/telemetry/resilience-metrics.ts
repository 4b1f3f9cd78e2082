// Counters of what retries and outlier detection did, per cluster, in the sidecar's registry.
// These move only when something fails, so prom-client's own Counter (it hashes the label set
// on each increment) is cheap enough here, unlike on the request path (see metrics.ts).
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

// Only the counter module: the package's index loads far more (see metrics.ts).
const require = createRequire(import.meta.url);
const Counter = require('prom-client/lib/counter.js') as typeof PromClient.Counter;

/** One cluster's counters. */
export interface ClusterCounters {
  /** A retry was sent. */
  readonly retries: PromClient.Counter.Internal;
  /** A retry was not sent because the retry budget was spent. */
  readonly retryOverflow: PromClient.Counter.Internal;
  /** An endpoint was ejected by outlier detection. */
  readonly ejections: PromClient.Counter.Internal;
}

export class ResilienceMetrics {
  private readonly retries: PromClient.Counter<'cluster'>;
  private readonly retryOverflow: PromClient.Counter<'cluster'>;
  private readonly ejections: PromClient.Counter<'cluster'>;

  constructor(registry: PromClient.Registry) {
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['cluster'] as const, registers: [registry] });
    this.retries = counter('weft_retries_total', 'Retries sent to a cluster');
    this.retryOverflow = counter('weft_retry_overflow_total', 'Retries not sent because the retry budget was spent');
    this.ejections = counter('weft_outlier_ejections_total', 'Endpoints ejected by outlier detection');
  }

  forCluster(cluster: string): ClusterCounters {
    return { retries: this.retries.labels(cluster), retryOverflow: this.retryOverflow.labels(cluster), ejections: this.ejections.labels(cluster) };
  }
}
