// The authz filter's decision path in-process (proxy/filters/authz/authz-filter.ts), with real
// Rego policies: which policies a request meets and in what order, what allows and what denies,
// what the caller and the upstream receive, and what is logged and counted for each.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { FilterExchange, HttpFilter } from '../../../proxy/filters/http-filter.js';
import { authzFilter } from '../../../proxy/filters/authz/authz-filter.js';
import { SidecarMetrics } from '../../../proxy/telemetry/metrics.js';
import { filterExchange } from '../../helpers/filter-exchange.js';

interface Policy {
  name: string;
  targets: { assets?: string[]; workloads?: string[]; assetSelector?: object; workloadSelector?: object };
  rego: string;
  mode?: 'enforce' | 'dry-run';
  entrypoint?: string;
  data?: Record<string, unknown>;
}

interface Built {
  readonly filter: HttpFilter;
  readonly metrics: SidecarMetrics;
  /** The decision log's lines so far, parsed (they are written once the turn ends). */
  readonly decisions: () => Promise<Record<string, unknown>[]>;
}

function build(config: { assets?: object[]; policies?: Policy[]; defaultDeny?: boolean; deniedByHeader?: boolean; decisionBudgetMs?: number; decisionLogSampleRate?: number; workloadLabels?: Record<string, string> }): Built {
  const metrics = new SidecarMetrics();
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const filter = authzFilter.create(
    {
      // As the config schema fills them in: labels default to none.
      assets: (config.assets ?? []).map((a) => ({ labels: {}, ...a })),
      policies: (config.policies ?? []).map((p, i) => ({
        name: p.name,
        targets: p.targets,
        mode: p.mode ?? 'enforce',
        entrypoint: p.entrypoint ?? `data.p${i}.allow`,
        modules: [{ name: `p${i}.rego`, rego: `package p${i}\nimport rego.v1\n${p.rego}\n` }],
        data: p.data ?? {},
      })),
      defaultDeny: config.defaultDeny ?? true,
      deniedByHeader: config.deniedByHeader ?? false,
      decisionBudgetMs: config.decisionBudgetMs ?? 5000,
      decisionLogSampleRate: config.decisionLogSampleRate ?? 0,
      workloadLabels: config.workloadLabels ?? { team: 'a' },
    },
    { direction: 'inbound', routesByHost: new Map(), defaultRoute: undefined, workload: 'orders', namespace: 'shop', localPrincipal: 'spiffe://weft.test/ns/shop/sa/orders', metrics, logOut: out },
  );
  const decisions = () =>
    new Promise<Record<string, unknown>[]>((resolve) =>
      setImmediate(() => resolve(text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>))),
    );
  return { filter, metrics, decisions };
}

const exchange = (method: string, path: string, headers: string[] = []): FilterExchange =>
  filterExchange({ method, path, requestHeaders: [...headers], sourcePrincipal: 'spiffe://weft.test/ns/shop/sa/frontend', scheme: 'https' });

async function counts(metrics: SidecarMetrics): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric('weft_authz_decisions_total')?.get();
  const result: Record<string, number> = {};
  for (const value of metric?.values ?? []) result[`${value.labels.policy}/${value.labels.asset}/${value.labels.decision}`] = value.value;
  return result;
}

const ALLOW = 'allow := true';
const DENY = 'allow := false';
const orders = { name: 'orders', labels: { tier: 'gold' }, match: { paths: [{ prefix: '/orders' }] } };
const admin = { name: 'admin', match: { paths: [{ prefix: '/admin' }] } };

describe('authz decision path: what decides', () => {
  it('lets through what the asset\'s policy allows, and denies what it denies, naming the policy in the log and metrics', async () => {
    const { filter, metrics, decisions } = build({ assets: [orders], policies: [{ name: 'get-only', targets: { assets: ['orders'] }, rego: 'default allow := false\nallow if input.attributes.request.http.method == "GET"' }] });
    expect(filter.decodeHeaders!(exchange('GET', '/orders/1'))).toBeUndefined();
    expect(filter.decodeHeaders!(exchange('DELETE', '/orders/1'))).toEqual({ code: 'AUTHZ_DENIED', overrides: { headers: [] } });
    expect(await decisions()).toEqual([expect.objectContaining({ policy: 'get-only', decision: 'deny', asset: 'orders', principal: 'spiffe://weft.test/ns/shop/sa/frontend', request_id: 'r1' })]);
    expect(await counts(metrics)).toEqual({ 'get-only/orders/allow': 1, 'get-only/orders/deny': 1 });
  });

  it('matches the asset on the path without its query', () => {
    const { filter } = build({ assets: [{ name: 'exact', match: { paths: [{ exact: '/a' }] } }], policies: [{ name: 'p', targets: { assets: ['exact'] }, rego: ALLOW }] });
    expect(filter.decodeHeaders!(exchange('GET', '/a?x=1'))).toBeUndefined();
    expect(filter.decodeHeaders!(exchange('GET', '/a/?x=1'))).toMatchObject({ code: 'AUTHZ_DENIED', detail: 'no asset matches this request' });
  });

  it('runs the asset\'s policies, then the workload\'s; every enforcing one must allow; one that targets both runs once', async () => {
    const policies: Policy[] = [
      { name: 'workload-no-delete', targets: { workloadSelector: { matchLabels: { team: 'a' } } }, rego: 'default allow := false\nallow if input.attributes.request.http.method != "DELETE"' },
      { name: 'asset-allow', targets: { assetSelector: { matchLabels: { tier: 'gold' } } }, rego: ALLOW },
      { name: 'both', targets: { assets: ['orders'], workloads: ['orders'] }, rego: ALLOW },
    ];
    const { filter, metrics, decisions } = build({ assets: [orders], policies, decisionLogSampleRate: 1 });
    expect(filter.decodeHeaders!(exchange('DELETE', '/orders'))).toMatchObject({ code: 'AUTHZ_DENIED' });
    const lines = await decisions();
    expect(lines.map((l) => `${l.policy}:${l.decision}`)).toEqual(['asset-allow:allow', 'both:allow', 'workload-no-delete:deny']);
    expect(filter.decodeHeaders!(exchange('GET', '/elsewhere'))).toBeUndefined();
    expect(await counts(metrics)).toEqual({ 'asset-allow/orders/allow': 1, 'both/orders/allow': 1, 'workload-no-delete/orders/deny': 1, 'workload-no-delete//allow': 1, 'both//allow': 1 });
  });

  it('does not apply a policy to an asset or workload it does not target', () => {
    const { filter } = build({
      assets: [orders, admin],
      policies: [
        { name: 'admin-deny', targets: { assets: ['admin'] }, rego: DENY },
        { name: 'other-workload', targets: { workloads: ['payments'], workloadSelector: { matchLabels: { team: 'b' } } }, rego: DENY },
        { name: 'orders-allow', targets: { assets: ['orders'], assetSelector: { matchLabels: { tier: 'silver' } } }, rego: ALLOW },
      ],
    });
    expect(filter.decodeHeaders!(exchange('GET', '/orders'))).toBeUndefined();
    expect(filter.decodeHeaders!(exchange('GET', '/admin'))).toMatchObject({ code: 'AUTHZ_DENIED' });
  });

  it('denies what no enforcing policy decided once defaultDeny is on or any policy enforces, and says why', async () => {
    const strict = build({ assets: [orders, admin], policies: [{ name: 'p', targets: { assets: ['orders'] }, rego: ALLOW }], defaultDeny: false, deniedByHeader: true });
    expect(strict.filter.decodeHeaders!(exchange('GET', '/admin'))).toEqual({ code: 'AUTHZ_DENIED', detail: 'no policy targets this asset', overrides: { headers: ['x-weft-denied-by', 'default-deny'] } });
    expect(strict.filter.decodeHeaders!(exchange('GET', '/nowhere'))).toMatchObject({ code: 'AUTHZ_DENIED', detail: 'no asset matches this request' });
    expect(await strict.decisions()).toEqual([
      expect.objectContaining({ policy: 'default-deny', decision: 'deny', asset: 'admin', reason: 'no policy targets this asset', rules: [], decided_by: [] }),
      expect.objectContaining({ policy: 'default-deny', decision: 'deny', asset: null, reason: 'no asset matches this request' }),
    ]);
    expect(await counts(strict.metrics)).toEqual({ 'default-deny/admin/deny': 1, 'default-deny//deny': 1 });

    const empty = build({ assets: [orders], defaultDeny: true });
    expect(empty.filter.decodeHeaders!(exchange('GET', '/orders'))).toMatchObject({ code: 'AUTHZ_DENIED', detail: 'no policy targets this asset' });

    const open = build({ assets: [orders], defaultDeny: false });
    expect(open.filter.decodeHeaders!(exchange('GET', '/orders'))).toBeUndefined();
    expect(open.filter.decodeHeaders!(exchange('GET', '/x'))).toBeUndefined();
  });

  it('never lets a dry-run policy allow or deny: its denial and its error are logged and counted only', async () => {
    const { filter, metrics, decisions } = build({
      assets: [orders],
      defaultDeny: false,
      policies: [
        { name: 'dry-deny', mode: 'dry-run', targets: { assets: ['orders'] }, rego: DENY },
        { name: 'dry-error', mode: 'dry-run', targets: { assets: ['orders'] }, rego: 'other := 1' },
      ],
    });
    expect(filter.decodeHeaders!(exchange('GET', '/orders'))).toBeUndefined();
    expect((await decisions()).map((l) => `${l.policy}:${l.decision}`)).toEqual(['dry-deny:dry_run_deny', 'dry-error:error']);
    expect(await counts(metrics)).toEqual({ 'dry-deny/orders/dry_run_deny': 1, 'dry-error/orders/error': 1 });

    const dryAllowOnly = build({ assets: [orders], defaultDeny: true, policies: [{ name: 'dry-allow', mode: 'dry-run', targets: { assets: ['orders'] }, rego: ALLOW }] });
    expect(dryAllowOnly.filter.decodeHeaders!(exchange('GET', '/orders'))).toMatchObject({ code: 'AUTHZ_DENIED', detail: 'no policy targets this asset' });
  });

  it('denies with AUTHZ_ERROR when a policy is undefined or of the wrong shape, and logs why', async () => {
    const { filter, metrics, decisions } = build({
      assets: [orders, admin],
      deniedByHeader: true,
      policies: [
        { name: 'undefined', targets: { assets: ['orders'] }, rego: 'other := 1' },
        { name: 'shape', targets: { assets: ['admin'] }, rego: 'allow := "yes"' },
      ],
    });
    expect(filter.decodeHeaders!(exchange('GET', '/orders'))).toEqual({ code: 'AUTHZ_ERROR', overrides: { headers: ['x-weft-denied-by', 'undefined'] } });
    expect(filter.decodeHeaders!(exchange('GET', '/admin'))).toMatchObject({ code: 'AUTHZ_ERROR' });
    expect(await decisions()).toEqual([
      expect.objectContaining({ policy: 'undefined', decision: 'error', reason: 'data.p0.allow is undefined', rules: ['data.p0.allow'] }),
      expect.objectContaining({ policy: 'shape', decision: 'error', reason: 'decision is neither a boolean nor an object' }),
    ]);
    expect(await counts(metrics)).toEqual({ 'undefined/orders/error': 1, 'shape/admin/error': 1 });
  });

  it('evaluates each policy with its own data document', () => {
    const { filter } = build({
      assets: [orders, admin],
      policies: [
        { name: 'orders-methods', targets: { assets: ['orders'] }, data: { methods: ['GET'] }, rego: 'default allow := false\nallow if input.attributes.request.http.method in data.methods' },
        { name: 'admin-methods', targets: { assets: ['admin'] }, data: { methods: ['DELETE'] }, rego: 'default allow := false\nallow if input.attributes.request.http.method in data.methods' },
      ],
    });
    expect(filter.decodeHeaders!(exchange('GET', '/orders'))).toBeUndefined();
    expect(filter.decodeHeaders!(exchange('DELETE', '/orders'))).toMatchObject({ code: 'AUTHZ_DENIED' });
    expect(filter.decodeHeaders!(exchange('DELETE', '/admin'))).toBeUndefined();
    expect(filter.decodeHeaders!(exchange('GET', '/admin'))).toMatchObject({ code: 'AUTHZ_DENIED' });
  });

  it('gives a policy the workload it protects and the destination principal', () => {
    const { filter } = build({
      assets: [orders],
      workloadLabels: { team: 'a', tier: 'web' },
      policies: [{ name: 'echo', targets: { assets: ['orders'] }, rego: 'allow := {"allowed": false, "body": json.marshal([input.attributes.destination.principal, input.weft.workload])}' }],
    });
    const outcome = filter.decodeHeaders!(exchange('GET', '/orders')) as { overrides: { body: string } };
    expect(JSON.parse(outcome.overrides.body)).toEqual(['spiffe://weft.test/ns/shop/sa/orders', { name: 'orders', namespace: 'shop', labels: { team: 'a', tier: 'web' } }]);
  });

  it('runs a policy that targets both the asset and the workload once: its response headers are added once', async () => {
    const { filter, metrics } = build({
      assets: [orders],
      policies: [{ name: 'both', targets: { assets: ['orders'], workloads: ['orders'] }, rego: 'allow := {"allowed": true, "response_headers_to_add": {"x-checked": "yes"}}' }],
    });
    const request = exchange('GET', '/orders');
    expect(filter.decodeHeaders!(request)).toBeUndefined();
    request.responseHeaders = [];
    filter.encodeHeaders!(request);
    expect(request.responseHeaders).toEqual(['x-checked', 'yes']);
    expect(await counts(metrics)).toEqual({ 'both/orders/allow': 1 });
  });

  it('refuses to build on a policy that does not compile, naming the policy', () => {
    expect(() => build({ assets: [orders], policies: [{ name: 'broken', targets: { assets: ['orders'] }, rego: 'allow if {' }] })).toThrow(/^authz policy broken: /);
  });

  it('denies with AUTHZ_ERROR a policy past the decision budget', async () => {
    // 20 million iterations take seconds; the budget is 1 ms, so no machine is fast enough to race it.
    const { filter, metrics, decisions } = build({
      assets: [{ name: 'slow', match: { paths: [{ prefix: '/slow' }] } }],
      decisionBudgetMs: 1,
      policies: [{ name: 'slow', targets: { assets: ['slow'] }, rego: 'allow if count([x | some x in numbers.range(1, 20000000); x % 7 == 0]) > 0' }],
    });
    expect(filter.decodeHeaders!(exchange('GET', '/slow'))).toEqual({ code: 'AUTHZ_ERROR', overrides: {} });
    expect(await decisions()).toEqual([expect.objectContaining({ policy: 'slow', decision: 'error' })]);
    expect(await counts(metrics)).toEqual({ 'slow/slow/error': 1 });
  });
});

describe('authz decision path: what the caller and the upstream receive', () => {
  it('answers a denial with the policy\'s status, body and headers; 401 is AUTHZ_UNAUTHENTICATED', () => {
    const { filter } = build({
      assets: [orders, admin],
      policies: [
        { name: 'login', targets: { assets: ['orders'] }, rego: 'allow := {"allowed": false, "http_status": 401, "headers": {"WWW-Authenticate": "Bearer"}, "body": "log in", "reason": "no user"}' },
        { name: 'teapot', targets: { assets: ['admin'] }, rego: 'allow := {"allowed": false, "http_status": 418}' },
      ],
    });
    expect(filter.decodeHeaders!(exchange('GET', '/orders'))).toEqual({ code: 'AUTHZ_UNAUTHENTICATED', detail: 'no user', overrides: { status: 401, body: 'log in', headers: ['www-authenticate', 'Bearer'] } });
    expect(filter.decodeHeaders!(exchange('GET', '/admin'))).toEqual({ code: 'AUTHZ_DENIED', overrides: { status: 418, headers: [] } });
  });

  it('adds x-weft-denied-by after the policy\'s own headers only when configured', () => {
    const policies: Policy[] = [{ name: 'no', targets: { assets: ['orders'] }, rego: 'allow := {"allowed": false, "headers": {"x-a": "1"}}' }];
    expect(build({ assets: [orders], policies, deniedByHeader: true }).filter.decodeHeaders!(exchange('GET', '/orders'))).toEqual({
      code: 'AUTHZ_DENIED',
      overrides: { headers: ['x-a', '1', 'x-weft-denied-by', 'no'] },
    });
    expect(build({ assets: [orders], policies: [{ name: 'no', targets: { assets: ['orders'] }, rego: DENY }], deniedByHeader: true }).filter.decodeHeaders!(exchange('GET', '/orders'))).toEqual({
      code: 'AUTHZ_DENIED',
      overrides: { headers: ['x-weft-denied-by', 'no'] },
    });
    expect(build({ assets: [orders], policies: [{ name: 'e', targets: { assets: ['orders'] }, rego: 'x := 1' }] }).filter.decodeHeaders!(exchange('GET', '/orders'))).toEqual({
      code: 'AUTHZ_ERROR',
      overrides: {},
    });
  });

  it('applies each allowing policy\'s header changes to the upstream request and its response headers to the reply', () => {
    const { filter } = build({
      assets: [orders],
      policies: [
        { name: 'a', targets: { assets: ['orders'] }, rego: 'allow := {"allowed": true, "headers": {"x-user": "alice"}, "request_headers_to_remove": ["X-Internal"], "response_headers_to_add": {"x-a": "1"}}' },
        { name: 'b', targets: { assets: ['orders'] }, rego: 'allow := {"allowed": true, "response_headers_to_add": {"x-b": "2"}}' },
        { name: 'dry', mode: 'dry-run', targets: { assets: ['orders'] }, rego: 'allow := {"allowed": true, "headers": {"x-dry": "1"}, "response_headers_to_add": {"x-dry": "1"}}' },
      ],
    });
    const request = exchange('GET', '/orders', ['x-user', 'mallory', 'x-internal', 'secret', 'accept', '*/*']);
    expect(filter.decodeHeaders!(request)).toBeUndefined();
    expect(request.requestHeaders).toEqual(['accept', '*/*', 'x-user', 'alice']);
    request.responseHeaders = ['content-type', 'text/plain'];
    expect(filter.encodeHeaders!(request)).toBeUndefined();
    expect(request.responseHeaders).toEqual(['content-type', 'text/plain', 'x-a', '1', 'x-b', '2']);
    const untouched = exchange('GET', '/orders');
    untouched.responseHeaders = ['content-type', 'text/plain'];
    filter.encodeHeaders!(untouched);
    expect(untouched.responseHeaders).toEqual(['content-type', 'text/plain']);
  });

  it('logs an allow, with the rules that decided, only when sampled', async () => {
    const policies: Policy[] = [{ name: 'p', targets: { assets: ['orders'] }, rego: 'default allow := false\nallow if input.attributes.request.http.method == "GET"' }];
    const sampled = build({ assets: [orders], policies, decisionLogSampleRate: 1 });
    sampled.filter.decodeHeaders!(exchange('GET', '/orders'));
    expect(await sampled.decisions()).toEqual([expect.objectContaining({ policy: 'p', decision: 'allow', rules: ['data.p0.allow'], decided_by: ['p0.rego:4 data.p0.allow'] })]);
    const unsampled = build({ assets: [orders], policies, decisionLogSampleRate: 0 });
    unsampled.filter.decodeHeaders!(exchange('GET', '/orders'));
    expect(await unsampled.decisions()).toEqual([]);
  });

  it('logs the rules that decided an unsampled denial, explained on the same input', async () => {
    // Line 3 is the default, line 4 the rule that only a DELETE meets.
    const rego = 'default allow := {"allowed": false, "reason": "default"}\nallow := {"allowed": false, "reason": "no delete"} if input.attributes.request.http.method == "DELETE"';
    const { filter, decisions } = build({ assets: [orders], policies: [{ name: 'p', targets: { assets: ['orders'] }, rego }], decisionLogSampleRate: 0 });
    expect(filter.decodeHeaders!(exchange('DELETE', '/orders'))).toMatchObject({ code: 'AUTHZ_DENIED', detail: 'no delete' });
    expect(await decisions()).toEqual([expect.objectContaining({ decision: 'deny', reason: 'no delete', decided_by: ['p0.rego:4 data.p0.allow'] })]);
  });

  it('names the policy\'s own rules after its entrypoint in the log', async () => {
    const { filter, decisions } = build({ assets: [orders], policies: [{ name: 'p', targets: { assets: ['orders'] }, rego: 'allow := {"allowed": false, "rule": "orders.read-only"}' }] });
    filter.decodeHeaders!(exchange('GET', '/orders'));
    expect(await decisions()).toEqual([expect.objectContaining({ rules: ['data.p0.allow', 'orders.read-only'] })]);
  });
});

describe('authz decision path: request bodies', () => {
  const withBody = { name: 'upload', match: { paths: [{ prefix: '/upload' }] }, requestBody: { maxBytes: 64, allowPartial: false, decideGrpcWithoutBody: false } };
  const grpcOk = { name: 'grpc-ok', match: { paths: [{ prefix: '/svc.Orders/' }] }, requestBody: { maxBytes: 64, allowPartial: true, decideGrpcWithoutBody: true } };
  const policies: Policy[] = [
    { name: 'small', targets: { assets: ['upload'] }, rego: 'default allow := false\nallow if input.parsed_body.n < 10' },
    { name: 'grpc', targets: { assets: ['grpc-ok'] }, rego: ALLOW },
  ];

  it('asks the chain for the body first, then decides on it', () => {
    const { filter } = build({ assets: [withBody, grpcOk], policies });
    const small = exchange('POST', '/upload', ['content-type', 'application/json']);
    expect(filter.decodeHeaders!(small)).toEqual({ watch: 'buffer', maxBytes: 64, partial: false });
    expect(filter.decodeData!(small, { bytes: Buffer.from('{"n":1}'), end: true })).toBeUndefined();
    const large = exchange('POST', '/upload', ['content-type', 'application/json']);
    expect(filter.decodeData!(large, { bytes: Buffer.from('{"n":11}'), end: true })).toMatchObject({ code: 'AUTHZ_DENIED' });
  });

  it('refuses a gRPC request to an asset that reads bodies, unless the asset decides gRPC without the body', async () => {
    const { filter, metrics, decisions } = build({ assets: [withBody, grpcOk], policies });
    expect(filter.decodeHeaders!(exchange('POST', '/upload', ['content-type', 'application/grpc']))).toEqual({
      code: 'AUTHZ_BODY_UNREADABLE',
      detail: 'gRPC request bodies are not read by policies: the asset reads request bodies',
    });
    expect(await decisions()).toEqual([expect.objectContaining({ policy: 'default-deny', decision: 'deny', asset: 'upload', rules: [], decided_by: [] })]);
    expect(filter.decodeHeaders!(exchange('POST', '/svc.Orders/Get', ['content-type', 'application/grpc+proto']))).toBeUndefined();
    expect(filter.decodeHeaders!(exchange('POST', '/svc.Orders/Get', ['content-type', 'application/json']))).toEqual({ watch: 'buffer', maxBytes: 64, partial: true });
    expect(await counts(metrics)).toEqual({ 'default-deny/upload/deny': 1, 'grpc/grpc-ok/allow': 1 });
  });

  it('neither holds the body nor refuses gRPC for an asset that reads bodies but no policy targets', () => {
    const { filter } = build({ assets: [withBody], policies: [], defaultDeny: false });
    expect(filter.decodeHeaders!(exchange('POST', '/upload', ['content-type', 'application/json']))).toBeUndefined();
    expect(filter.decodeHeaders!(exchange('POST', '/upload', ['content-type', 'application/grpc']))).toBeUndefined();
  });

  it('denies with AUTHZ_BODY_UNREADABLE when a policy reads a body the sidecar cannot read as the app will', () => {
    const { filter } = build({ assets: [withBody], policies: [{ name: 'small', targets: { assets: ['upload'] }, rego: 'default allow := false\nallow if input.parsed_body.n < 10' }] });
    const exchangeOf = exchange('POST', '/upload', ['content-type', 'application/json', 'content-encoding', 'br']);
    expect(filter.decodeData!(exchangeOf, { bytes: Buffer.from('xx'), end: true })).toMatchObject({ code: 'AUTHZ_BODY_UNREADABLE' });
  });
});
