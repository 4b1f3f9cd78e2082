// `npm run bench:authz`: what the authz filter adds to a request's filter chain, in-process after
// warm-up. Two inbound chains built by the sidecar's own snapshot builder from one config, one
// [router] and one [authz, router] with a 20-rule policy (test/bench/policy-fixture.ts), run
// over the same requests in alternating rounds; the authz filter's cost includes asset matching,
// building the input document, the decision, the metric and the sampled decision log (its lines,
// and a denial's explanation, are written after the decision: see `perRequest`).
import { Writable } from 'node:stream';
import { validateConfig } from '../../proxy/config/load-config.js';
import { buildDataPath } from '../../proxy/runtime/snapshot.js';
import { loadFilters } from '../../proxy/filters/registry.js';
import { AccessLog } from '../../proxy/telemetry/access-log.js';
import { LogLines } from '../../proxy/telemetry/log-lines.js';
import { SidecarMetrics } from '../../proxy/telemetry/metrics.js';
import { plaintext } from '../../proxy/transport-security.js';
import type { FilterExchange, HttpFilter } from '../../proxy/filters/http-filter.js';
import { authzPolicy, authzRequests } from './policy-fixture.js';

const RULES = 20;
const WARMUP = 20_000;
const ROUNDS = 7;
const PER_ROUND = 20_000;

function chain(filters: unknown[]): readonly HttpFilter[] {
  const config = validateConfig({ workload: 'catalog', admin: { port: 0 }, accessLog: { mode: 'off' }, inbound: { port: 0, appPort: 9, filters } });
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const snapshot = buildDataPath(config, { metrics: new SidecarMetrics(), accessLog: new AccessLog('off', 0, new LogLines(discard)), security: plaintext });
  for (const cluster of snapshot.clusters) void cluster.close();
  return snapshot.inbound!.filters.filters;
}

await loadFilters(['authz']);
const withAuthz = chain([
  {
    name: 'authz',
    config: {
      assets: [{ name: 'api', match: { paths: [{ prefix: '/api/' }] } }],
      policies: [{ name: 'bench-20-rules', targets: { assets: ['api'] }, entrypoint: 'data.envoy.authz.allow', modules: [{ name: 'authz.rego', rego: authzPolicy(RULES) }] }],
    },
  },
  { name: 'router' },
]);
const withoutAuthz = chain([{ name: 'router' }]);

// Exchanges as the listener hands them to the chain; headers are copied per request because
// filters may edit them.
const requests = authzRequests(RULES, 1000).map((r) => {
  const http = r.attributes.request.http;
  const headers = Object.entries(http.headers).filter(([name]) => !name.startsWith(':')).flat();
  return {
    base: {
      direction: 'inbound' as const,
      method: http.method,
      path: http.path,
      authority: http.host,
      requestId: http.id,
      sourcePrincipal: r.attributes.source.principal,
      sourceAddress: '127.0.0.1',
      sourcePort: 40000,
      scheme: 'https',
      protocol: 'HTTP/1.1',
      endUser: { issuer: 'https://id.bench', claims: r.weft.jwt!.claims },
      route: undefined,
      responseStatus: 0,
      responseHeaders: undefined,
      hasBody: false,
      metadata: undefined,
    },
    headers,
  };
});

function exchange(i: number): FilterExchange {
  const r = requests[i % requests.length]!;
  return { ...r.base, requestHeaders: r.headers.slice() };
}

let denied = 0;
function run(filters: readonly HttpFilter[], x: FilterExchange): void {
  for (const filter of filters) {
    if (filter.decodeHeaders?.(x) !== undefined) {
      denied++;
      return;
    }
  }
}

const YIELD_EVERY = 64;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Figures {
  p50: number;
  p99: number;
  /** Wall time per request over the round, work deferred after the reply (decision-log lines) included. */
  perRequest: number;
}

// Each request's own time is what it waits for; the event loop turns every YIELD_EVERY requests
// (outside the timed part) so that deferred work runs as it would in a sidecar, and counts in
// `perRequest`.
async function measure(filters: readonly HttpFilter[], count: number): Promise<Figures> {
  const samples = new Float64Array(count);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const x = exchange(i);
    const t0 = process.hrtime.bigint();
    run(filters, x);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await turn();
  }
  await turn();
  const perRequest = Number(process.hrtime.bigint() - started) / 1000 / count;
  samples.sort();
  return { p50: samples[Math.floor(count * 0.5)]!, p99: samples[Math.floor(count * 0.99)]!, perRequest };
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

await measure(withAuthz, WARMUP);
await measure(withoutAuthz, WARMUP);
denied = 0;
const on: Figures[] = [];
const off: Figures[] = [];
for (let round = 0; round < ROUNDS; round++) {
  off.push(await measure(withoutAuthz, PER_ROUND));
  on.push(await measure(withAuthz, PER_ROUND));
}
const summary = (rounds: Figures[]): Figures => ({
  p50: median(rounds.map((f) => f.p50)),
  p99: median(rounds.map((f) => f.p99)),
  perRequest: median(rounds.map((f) => f.perRequest)),
});
const a = summary(on);
const b = summary(off);
console.log(`filter chain [router]:        p50 ${b.p50.toFixed(2)} us, p99 ${b.p99.toFixed(2)} us, ${b.perRequest.toFixed(2)} us/request with deferred work`);
console.log(
  `filter chain [authz, router]: p50 ${a.p50.toFixed(2)} us, p99 ${a.p99.toFixed(2)} us, ${a.perRequest.toFixed(2)} us/request with deferred work ` +
    `(${RULES}-rule policy, ${((denied / (ROUNDS * PER_ROUND)) * 100).toFixed(0)}% denied)`,
);
console.log(
  `authz bench: added_p50_us=${(a.p50 - b.p50).toFixed(2)} added_p99_us=${(a.p99 - b.p99).toFixed(2)} added_per_request_us=${(a.perRequest - b.perRequest).toFixed(2)}`,
);
