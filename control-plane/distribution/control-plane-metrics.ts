// The control plane's Prometheus metrics, in their own registry (served by the admin API).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly pushes = new Counter({
    name: 'weft_cp_pushes_total',
    help: 'Snapshots sent to sidecars',
    registers: [this.registry],
  });
  readonly pushDuration = new Histogram({
    name: 'weft_cp_push_duration_seconds',
    help: 'Time to compute and send the snapshots of one push to every affected sidecar',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly convergence = new Histogram({
    name: 'weft_cp_convergence_seconds',
    help: 'From a revision being accepted to every affected connected sidecar ACKing it (like pilot_proxy_convergence_time)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly connected = new Gauge({
    name: 'weft_cp_connected_sidecars',
    help: 'Sidecars with an open discovery stream',
    registers: [this.registry],
  });
  readonly nacks = new Counter({
    name: 'weft_cp_nacks_total',
    help: 'Snapshots refused by sidecars',
    registers: [this.registry],
  });
  readonly revision = new Gauge({
    name: 'weft_cp_revision',
    help: 'The running revision number',
    registers: [this.registry],
  });
  readonly refusedChanges = new Counter({
    name: 'weft_cp_refused_changes_total',
    help: 'Changes refused by validation (apply, delete or a watched edit)',
    registers: [this.registry],
  });
}
