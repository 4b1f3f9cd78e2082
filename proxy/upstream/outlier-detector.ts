// Outlier detection (passive health), as Envoy's consecutive-failure kinds: an endpoint whose
// responses are 5xx `consecutive5xx` times in a row, or whose connections fail
// `consecutiveConnectFailures` times in a row, is ejected from load balancing for
// baseEjectionTimeMs times the number of times it was ejected (capped at max(base, 300 s), as
// Envoy's max_ejection_time). A sweep every intervalMs returns endpoints whose time ran out and
// lowers the multiplier of those that stayed healthy. At most maxEjectionPercent of the
// endpoints are ejected at once, except that one may always be ejected when none is (Envoy's
// documented algorithm; else a 10% default would never eject in a cluster under ten endpoints).
import type { OutlierDetectionConfig } from '../config/types.js';

const MAX_EJECTION_MS = 300_000;

/** What the detector reads and sets on an endpoint. */
export interface DetectedEndpoint {
  healthy: boolean;
}

class EndpointRecord {
  consecutive5xx = 0;
  consecutiveConnectFailures = 0;
  /** The ejection multiplier: up by one per ejection, down by one per sweep the endpoint is healthy. */
  timesEjected = 0;
  /** performance.now() at which an ejected endpoint may return. */
  ejectedUntil = 0;
}

export class OutlierDetector<E extends DetectedEndpoint> {
  private readonly records = new Map<E, EndpointRecord>();
  private readonly sweeper: NodeJS.Timeout;
  private ejected = 0;

  constructor(
    private readonly config: OutlierDetectionConfig,
    private readonly endpoints: readonly E[],
    /** Called when endpoints were ejected or returned, to rebuild the healthy list. */
    private readonly changed: () => void,
    /** Called on each ejection. */
    private readonly onEjection: () => void,
  ) {
    for (const endpoint of endpoints) this.records.set(endpoint, new EndpointRecord());
    this.sweeper = setInterval(() => this.sweep(), config.intervalMs).unref();
  }

  /** An upstream response's status (connections worked). */
  onResponse(endpoint: E, status: number): void {
    const record = this.records.get(endpoint)!;
    record.consecutiveConnectFailures = 0;
    if (status < 500) {
      record.consecutive5xx = 0;
      return;
    }
    if (++record.consecutive5xx >= this.config.consecutive5xx) this.eject(endpoint, record);
  }

  /** A failure to connect to the endpoint. */
  onConnectFailure(endpoint: E): void {
    const record = this.records.get(endpoint)!;
    if (++record.consecutiveConnectFailures >= this.config.consecutiveConnectFailures) this.eject(endpoint, record);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private eject(endpoint: E, record: EndpointRecord): void {
    record.consecutive5xx = 0;
    record.consecutiveConnectFailures = 0;
    if (!endpoint.healthy) return;
    const max = this.config.maxEjectionPercent;
    if (max === 0 || (this.ejected > 0 && (this.ejected + 1) * 100 > max * this.endpoints.length)) return;
    record.timesEjected++;
    const { baseEjectionTimeMs } = this.config;
    record.ejectedUntil = performance.now() + Math.min(baseEjectionTimeMs * record.timesEjected, Math.max(baseEjectionTimeMs, MAX_EJECTION_MS));
    endpoint.healthy = false;
    this.ejected++;
    this.onEjection();
    this.changed();
  }

  private sweep(): void {
    const now = performance.now();
    let returned = false;
    for (const [endpoint, record] of this.records) {
      if (endpoint.healthy) {
        if (record.timesEjected > 0) record.timesEjected--;
        continue;
      }
      if (record.ejectedUntil > now) continue;
      endpoint.healthy = true;
      record.ejectedUntil = 0;
      this.ejected--;
      returned = true;
    }
    if (returned) this.changed();
  }
}
