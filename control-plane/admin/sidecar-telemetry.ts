// What the dashboard shows of the sidecars' own telemetry: the control plane reads each connected
// sidecar's admin listener (the address it announced, on its inbound host) while a dashboard is
// open, at most every POLL_MS: /metrics (Prometheus text, parsed with parse-prometheus-text-format)
// for the traffic between workloads, the model servers' load, the callers' tokens per tenant and
// each sidecar's certificate expiry, and /decisions for the latest denials. Bounded: each answer up to MAX_BODY_BYTES within TIMEOUT_MS, one poll at a time, a
// fixed number of decisions and samples kept. Nothing here is on a request path.
import { request } from 'node:http';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import type { HostPort } from '../api/resource-types.js';

export interface TelemetryTarget {
  /** `namespace/workload`. */
  readonly workload: string;
  readonly admin: HostPort;
}

export interface EdgeTraffic {
  readonly requestsPerSecond: number;
  /** Share of 4xx and 5xx answers (denials included) over the last interval; null without requests. */
  readonly errorRate: number | null;
  /** From the histogram's buckets over the last interval (the bucket's upper bound); null without requests. */
  readonly p99Ms: number | null;
  /** What the callee's sidecar saw: mutual TLS on every request of the interval. */
  readonly mtls: boolean;
}

export interface DecisionRow {
  /** The sidecar that decided, `namespace/workload`. */
  readonly workload: string;
  readonly time: string;
  readonly principal: string | null;
  readonly asset: string | null;
  readonly policy: string;
  readonly decision: string;
  readonly rules: readonly string[];
}

export interface EngineSample {
  readonly t: number;
  readonly waiting: number;
  readonly running: number;
  readonly kvCache: number;
}

export interface BackendTelemetry {
  /** Requests the backend's sidecar served since it started (each one a pick of some caller). */
  readonly picks: number;
  readonly history: readonly EngineSample[];
}

/** Tokens the callers' sidecars settled for one tenant (all callers summed), by kind (prompt, completion). */
export interface TenantTokens {
  readonly tenant: string;
  readonly kind: string;
  readonly tokens: number;
}

export interface TelemetryView {
  /** By `from->to` (workload keys, as the callee's sidecar reported them). */
  readonly traffic: ReadonlyMap<string, EdgeTraffic>;
  /** Newest first. */
  readonly decisions: readonly DecisionRow[];
  readonly backends: ReadonlyMap<string, BackendTelemetry>;
  readonly tokens: readonly TenantTokens[];
  /** When the certificate of a workload's sidecar expires (ISO time; the soonest of its sidecars), by `namespace/workload`. */
  readonly certificateExpiry: ReadonlyMap<string, string>;
}

export const POLL_MS = 2000;
const TIMEOUT_MS = 1000;
const MAX_BODY_BYTES = 4 << 20;
export const DECISIONS_KEPT = 200;
export const SAMPLES_KEPT = 90;

interface Counts {
  total: number;
  errors: number;
  mtls: number;
  /** Cumulative count per bucket bound, +Inf last. */
  buckets: Map<number, number>;
}

function get(target: HostPort, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: target.host, port: target.port, path, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`${path} is over ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`${path}: HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const family = (families: PromFamily[], name: string) => families.find((f) => f.name === name)?.metrics ?? [];

/** Inbound (reporter=destination) request counts and latency buckets by caller, of one sidecar. */
function inboundCounts(families: PromFamily[], namespace: string): Map<string, Counts> {
  const counts = new Map<string, Counts>();
  const of = (labels: Record<string, string>) => {
    const key = `${namespace}/${labels.source_workload ?? 'unknown'}->${namespace}/${labels.destination_workload ?? 'unknown'}`;
    let c = counts.get(key);
    if (c === undefined) counts.set(key, (c = { total: 0, errors: 0, mtls: 0, buckets: new Map() }));
    return c;
  };
  for (const sample of family(families, 'istio_requests_total')) {
    const labels = sample.labels ?? {};
    if (labels.reporter !== 'destination') continue;
    const value = Number(sample.value);
    const c = of(labels);
    c.total += value;
    if (Number(labels.response_code) >= 400) c.errors += value;
    if (labels.connection_security_policy === 'mutual_tls') c.mtls += value;
  }
  for (const sample of family(families, 'istio_request_duration_milliseconds_bucket')) {
    const { le, ...labels } = sample.labels ?? {};
    if (labels.reporter !== 'destination' || le === undefined) continue;
    const c = of(labels);
    const bound = le === '+Inf' ? Infinity : Number(le);
    c.buckets.set(bound, (c.buckets.get(bound) ?? 0) + Number(sample.value));
  }
  return counts;
}

function p99(now: Counts, before: Counts | undefined): number | null {
  const bounds = [...now.buckets.keys()].sort((a, b) => a - b);
  const delta = (bound: number) => (now.buckets.get(bound) ?? 0) - (before?.buckets.get(bound) ?? 0);
  const total = delta(Infinity);
  if (total <= 0) return null;
  const bound = bounds.find((b) => delta(b) >= 0.99 * total);
  return bound === undefined || bound === Infinity ? null : bound;
}

function gauge(families: PromFamily[], name: string): number | undefined {
  const value = family(families, name)[0]?.value;
  return value === undefined ? undefined : Number(value);
}

export class SidecarTelemetry {
  readonly #targets: () => readonly TelemetryTarget[];
  readonly #log: (line: string) => void;
  #polling = false;
  #lastPoll = 0;
  #counts = new Map<string, { at: number; counts: Counts }>();
  #traffic = new Map<string, EdgeTraffic>();
  #decisions: DecisionRow[] = [];
  /** Per sidecar, how many decisions it had added when last read. */
  readonly #seenDecisions = new Map<string, number>();
  readonly #backends = new Map<string, { picks: number; history: EngineSample[] }>();
  readonly #failing = new Set<string>();
  /** Per sidecar, its tokens counter by `tenant kind`. */
  readonly #tokens = new Map<string, Map<string, number>>();
  /** Per sidecar, its workload and when its certificate expires. */
  readonly #expiry = new Map<string, { workload: string; at: string }>();

  constructor(targets: () => readonly TelemetryTarget[], log: (line: string) => void = () => undefined) {
    this.#targets = targets;
    this.#log = log;
  }

  view(): TelemetryView {
    const totals = new Map<string, number>();
    for (const counters of this.#tokens.values()) for (const [key, value] of counters) totals.set(key, (totals.get(key) ?? 0) + value);
    const tokens = [...totals].map(([key, value]) => {
      const [tenant, kind] = key.split(' ') as [string, string];
      return { tenant, kind, tokens: value };
    });
    tokens.sort((a, b) => a.tenant.localeCompare(b.tenant) || a.kind.localeCompare(b.kind));
    const certificateExpiry = new Map<string, string>();
    for (const { workload, at } of this.#expiry.values()) {
      const known = certificateExpiry.get(workload);
      if (known === undefined || at < known) certificateExpiry.set(workload, at);
    }
    return { traffic: this.#traffic, decisions: this.#decisions, backends: this.#backends, tokens, certificateExpiry };
  }

  /** Reads every sidecar once, unless a poll runs or the last one was under POLL_MS ago. */
  async poll(now = Date.now()): Promise<void> {
    if (this.#polling || now - this.#lastPoll < POLL_MS) return;
    this.#polling = true;
    this.#lastPoll = now;
    try {
      await Promise.all(this.#targets().map((target) => this.#read(target, now)));
    } finally {
      this.#polling = false;
    }
  }

  async #read(target: TelemetryTarget, now: number): Promise<void> {
    const id = `${target.workload}@${target.admin.host}:${target.admin.port}`;
    try {
      const [metrics, decisions] = await Promise.all([get(target.admin, '/metrics'), get(target.admin, '/decisions')]);
      this.#failing.delete(id);
      // The parser folds a histogram's labelled series into one (its flattenMetrics); without
      // their TYPE line the buckets parse as plain samples that keep their labels (and `le`).
      const families = parsePrometheusTextFormat(metrics.replace(/^# TYPE \S+ histogram$/gm, ''));
      this.#readMetrics(target, families, now);
      this.#readIdentityAndTokens(target, id, families, now);
      this.#readDecisions(target, id, JSON.parse(decisions) as { added: number; decisions: Record<string, unknown>[] });
    } catch (error) {
      // Once per failing sidecar, not every poll.
      if (!this.#failing.has(id)) this.#log(`dashboard: cannot read sidecar ${id}: ${(error as Error).message}`);
      this.#failing.add(id);
    }
  }

  #readMetrics(target: TelemetryTarget, families: PromFamily[], now: number): void {
    const namespace = target.workload.split('/')[0]!;
    let picks = 0;
    for (const [edge, counts] of inboundCounts(families, namespace)) {
      picks += counts.total;
      const before = this.#counts.get(edge);
      this.#counts.set(edge, { at: now, counts });
      if (before === undefined) continue;
      const requests = counts.total - before.counts.total;
      const seconds = Math.max((now - before.at) / 1000, 0.001);
      this.#traffic.set(edge, {
        requestsPerSecond: Math.max(0, requests) / seconds,
        errorRate: requests > 0 ? (counts.errors - before.counts.errors) / requests : null,
        p99Ms: p99(counts, before.counts),
        mtls: requests > 0 ? counts.mtls - before.counts.mtls === requests : counts.mtls === counts.total && counts.total > 0,
      });
    }
    const waiting = gauge(families, 'weft_inference_engine_requests_waiting');
    const running = gauge(families, 'weft_inference_engine_requests_running');
    const kvCache = gauge(families, 'weft_inference_engine_kv_cache_usage');
    if (waiting === undefined || running === undefined || kvCache === undefined) return;
    let backend = this.#backends.get(target.workload);
    if (backend === undefined) this.#backends.set(target.workload, (backend = { picks: 0, history: [] }));
    backend.picks = picks;
    backend.history.push({ t: now, waiting, running, kvCache });
    if (backend.history.length > SAMPLES_KEPT) backend.history.shift();
  }

  #readIdentityAndTokens(target: TelemetryTarget, id: string, families: PromFamily[], now: number): void {
    const expiresIn = gauge(families, 'weft_certificate_expiry_seconds');
    if (expiresIn === undefined) this.#expiry.delete(id);
    else this.#expiry.set(id, { workload: target.workload, at: new Date(now + expiresIn * 1000).toISOString() });
    const counters = new Map<string, number>();
    for (const sample of family(families, 'weft_inference_tokens_total')) {
      const { tenant, kind } = sample.labels ?? {};
      if (tenant === undefined || kind === undefined || tenant.includes(' ')) continue;
      counters.set(`${tenant} ${kind}`, Number(sample.value));
    }
    if (counters.size === 0) this.#tokens.delete(id);
    else this.#tokens.set(id, counters);
  }

  #readDecisions(target: TelemetryTarget, id: string, answer: { added: number; decisions: Record<string, unknown>[] }): void {
    const seen = this.#seenDecisions.get(id) ?? 0;
    // A restarted sidecar counts from zero again.
    const fresh = answer.added < seen ? answer.decisions : answer.decisions.slice(Math.max(0, answer.decisions.length - (answer.added - seen)));
    this.#seenDecisions.set(id, answer.added);
    if (fresh.length === 0) return;
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    const rows = fresh.map((d) => ({
      workload: target.workload,
      time: new Date(typeof d.time === 'number' ? d.time : 0).toISOString(),
      principal: text(d.principal),
      asset: text(d.asset),
      policy: text(d.policy) ?? '?',
      decision: text(d.decision) ?? '?',
      rules: Array.isArray(d.rules) ? d.rules.filter((r): r is string => typeof r === 'string').slice(0, 16) : [],
    }));
    this.#decisions = [...rows.reverse(), ...this.#decisions].sort((a, b) => b.time.localeCompare(a.time)).slice(0, DECISIONS_KEPT);
  }
}
