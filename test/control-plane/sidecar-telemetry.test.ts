// The dashboard's reading of the sidecars' admin listeners (over loopback HTTP, as the control
// plane does): traffic per edge from two readings of the istio counters and histogram, denials
// taken once however often they are read, the model servers' engine gauges, and a sidecar that
// cannot be read logged once and left out.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { POLL_MS, SidecarTelemetry, type TelemetryTarget } from '../../control-plane/admin/sidecar-telemetry.js';

const labels = (code: string, security = 'mutual_tls') =>
  `reporter="destination",source_workload="web",destination_workload="orders",connection_security_policy="${security}",response_code="${code}"`;

function metrics(ok: number, denied: number, slow: number): string {
  const bucket = (code: string, le: string, n: number) => `istio_request_duration_milliseconds_bucket{${labels(code)},le="${le}"} ${n}`;
  return [
    '# TYPE istio_requests_total counter',
    `istio_requests_total{${labels('200')}} ${ok}`,
    `istio_requests_total{${labels('403')}} ${denied}`,
    '# TYPE istio_request_duration_milliseconds histogram',
    bucket('200', '5', ok - slow), bucket('200', '100', ok), bucket('200', '+Inf', ok),
    `istio_request_duration_milliseconds_sum{${labels('200')}} 1`,
    `istio_request_duration_milliseconds_count{${labels('200')}} ${ok}`,
    bucket('403', '5', denied), bucket('403', '100', denied), bucket('403', '+Inf', denied),
    `istio_request_duration_milliseconds_sum{${labels('403')}} 1`,
    `istio_request_duration_milliseconds_count{${labels('403')}} ${denied}`,
    '# TYPE weft_inference_engine_requests_waiting gauge',
    'weft_inference_engine_requests_waiting 3',
    '# TYPE weft_inference_engine_requests_running gauge',
    'weft_inference_engine_requests_running 2',
    '# TYPE weft_inference_engine_kv_cache_usage gauge',
    'weft_inference_engine_kv_cache_usage 0.25',
    '',
  ].join('\n');
}

const decision = (n: number) => ({ time: n, requestId: `r${n}`, principal: 'spiffe://td/ns/default/sa/web', asset: 'orders-admin', policy: 'orders-admin', decision: 'deny', rules: ['p.rego:4 default data.weft.authz.allow'], reason: null });

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function adminListener(answer: { metrics: string; decisions: object }): Promise<TelemetryTarget> {
  const server = createServer((req, res) => {
    res.end(req.url === '/metrics' ? answer.metrics : JSON.stringify(answer.decisions));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { workload: 'default/orders', admin: { host: '127.0.0.1', port: (server.address() as AddressInfo).port } };
}

describe('SidecarTelemetry', () => {
  it('turns two readings into requests/s, 4xx+5xx rate, p99 and mTLS per edge, and keeps the engine load', async () => {
    const answer = { metrics: metrics(100, 10, 0), decisions: { added: 0, decisions: [] } };
    const target = await adminListener(answer);
    const telemetry = new SidecarTelemetry(() => [target]);
    await telemetry.poll(10_000);
    expect(telemetry.view().traffic.size).toBe(0);
    answer.metrics = metrics(190, 20, 9);
    await telemetry.poll(10_000 + POLL_MS);
    const edge = telemetry.view().traffic.get('default/web->default/orders');
    expect(edge).toEqual({ requestsPerSecond: 50, errorRate: 0.1, p99Ms: 100, mtls: true });
    expect(telemetry.view().backends.get('default/orders')).toEqual({
      picks: 210,
      history: [
        { t: 10_000, waiting: 3, running: 2, kvCache: 0.25 },
        { t: 10_000 + POLL_MS, waiting: 3, running: 2, kvCache: 0.25 },
      ],
    });
  });

  it("reads each sidecar's certificate expiry (the soonest per workload) and sums the callers' tokens per tenant", async () => {
    const caller = (expirySeconds: number, web: number) =>
      [
        '# TYPE weft_certificate_expiry_seconds gauge',
        `weft_certificate_expiry_seconds ${expirySeconds}`,
        '# TYPE weft_inference_tokens_total counter',
        `weft_inference_tokens_total{tenant="spiffe://td/ns/default/sa/web",kind="prompt"} ${web}`,
        'weft_inference_tokens_total{tenant="spiffe://td/ns/default/sa/web",kind="completion"} 7',
        '',
      ].join('\n');
    const first = await adminListener({ metrics: caller(3600, 100), decisions: { added: 0, decisions: [] } });
    const second = await adminListener({ metrics: caller(60, 20), decisions: { added: 0, decisions: [] } });
    const telemetry = new SidecarTelemetry(() => [first, second]);
    expect(telemetry.view().tokens).toEqual([]);
    await telemetry.poll(1_000_000);
    expect(telemetry.view().certificateExpiry).toEqual(new Map([['default/orders', new Date(1_000_000 + 60_000).toISOString()]]));
    expect(telemetry.view().tokens).toEqual([
      { tenant: 'spiffe://td/ns/default/sa/web', kind: 'completion', tokens: 14 },
      { tenant: 'spiffe://td/ns/default/sa/web', kind: 'prompt', tokens: 120 },
    ]);
  });

  it('does not poll again within POLL_MS', async () => {
    const answer = { metrics: metrics(1, 0, 0), decisions: { added: 0, decisions: [] } };
    const telemetry = new SidecarTelemetry(() => [target]);
    const target = await adminListener(answer);
    await telemetry.poll(50_000);
    await telemetry.poll(50_000 + POLL_MS - 1);
    expect(telemetry.view().backends.get('default/orders')?.history).toHaveLength(1);
  });

  it('takes each denial once, newest first, across readings of the same window', async () => {
    const answer = { metrics: metrics(1, 0, 0), decisions: { added: 2, decisions: [decision(1000), decision(2000)] } };
    const target = await adminListener(answer);
    const telemetry = new SidecarTelemetry(() => [target]);
    await telemetry.poll(0);
    answer.decisions = { added: 3, decisions: [decision(1000), decision(2000), decision(3000)] };
    await telemetry.poll(POLL_MS);
    const rows = telemetry.view().decisions;
    expect(rows.map((r) => [r.workload, r.time, r.policy, r.rules[0]])).toEqual([
      ['default/orders', new Date(3000).toISOString(), 'orders-admin', 'p.rego:4 default data.weft.authz.allow'],
      ['default/orders', new Date(2000).toISOString(), 'orders-admin', 'p.rego:4 default data.weft.authz.allow'],
      ['default/orders', new Date(1000).toISOString(), 'orders-admin', 'p.rego:4 default data.weft.authz.allow'],
    ]);
  });

  it('logs a sidecar it cannot read once, and reads the others', async () => {
    const good = await adminListener({ metrics: metrics(1, 0, 0), decisions: { added: 1, decisions: [decision(5)] } });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const lines: string[] = [];
    const telemetry = new SidecarTelemetry(() => [good, { workload: 'default/gone', admin: { host: '127.0.0.1', port } }], (line) => lines.push(line));
    await telemetry.poll(0);
    await telemetry.poll(POLL_MS);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot read sidecar default/gone@127.0.0.1:${port}`);
    expect(telemetry.view().decisions).toHaveLength(1);
  });
});
