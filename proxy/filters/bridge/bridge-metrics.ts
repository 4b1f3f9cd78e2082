// The bridge's own metrics, one set per sidecar registry (filters are rebuilt with every
// snapshot, the metrics are not):
//   weft_bridge_calls_total{bridge, operation, code}     every bridged call by outcome (`ok` or an error code)
//   weft_bridge_faults_total{bridge, operation, fault}   legacy faults by their fault code
//   weft_bridge_upstream_seconds{bridge, operation}      legacy system latency (request sent to response read)
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { SidecarMetrics } from '../../telemetry/metrics.js';

const require = createRequire(import.meta.url);
const Counter = require('prom-client/lib/counter.js') as typeof PromClient.Counter;
const Histogram = require('prom-client/lib/histogram.js') as typeof PromClient.Histogram;

export class BridgeMetrics {
  readonly calls: PromClient.Counter<'bridge' | 'operation' | 'code'>;
  readonly faults: PromClient.Counter<'bridge' | 'operation' | 'fault'>;
  readonly upstreamSeconds: PromClient.Histogram<'bridge' | 'operation'>;

  constructor(metrics: SidecarMetrics) {
    const registers = [metrics.registry];
    this.calls = new Counter({ name: 'weft_bridge_calls_total', help: 'Bridged calls by outcome', labelNames: ['bridge', 'operation', 'code'], registers });
    this.faults = new Counter({ name: 'weft_bridge_faults_total', help: 'Legacy faults by fault code', labelNames: ['bridge', 'operation', 'fault'], registers });
    this.upstreamSeconds = new Histogram({
      name: 'weft_bridge_upstream_seconds',
      help: 'Legacy system latency of bridged calls',
      labelNames: ['bridge', 'operation'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }
}

const bySidecar = new WeakMap<SidecarMetrics, BridgeMetrics>();

export function bridgeMetrics(metrics: SidecarMetrics): BridgeMetrics {
  let found = bySidecar.get(metrics);
  if (found === undefined) bySidecar.set(metrics, (found = new BridgeMetrics(metrics)));
  return found;
}
