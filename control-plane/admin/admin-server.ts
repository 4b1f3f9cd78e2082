// The control plane's admin API (HTTP/JSON, loopback): what `weft apply|get|delete|status` and
// Prometheus talk to (contract: api/admin-contract.ts). Every endpoint but /healthz needs a
// bearer token (admin-tokens.ts): a read token for status, resources and metrics, the write
// token for changes, each of which is written to the audit log with its caller. It listens on
// loopback only, accepts state-changing requests only as application/json (a browser page
// cannot send those cross-origin without a preflight this server never answers) and only for a
// loopback Host (against DNS rebinding). It also serves the dashboard (dashboard-server.ts),
// behind a session the read token opens.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_ROUTES, type AdminRoute, type ChangeAnswer, type ResourcesAnswer, type StatusAnswer } from '../api/admin-contract.js';
import { encodeResource } from '../api/resource-codec.js';
import { isResourceKind, resourceKey } from '../api/resource-types.js';
import { stdoutAudit, type AuditSink } from '../ca/audit-log.js';
import { ChangeRefusedError, ControlPlaneError } from '../errors.js';
import type { DiscoveryService } from '../distribution/discovery-service.js';
import type { ControlPlaneMetrics } from '../distribution/control-plane-metrics.js';
import type { ChangeResult, ResourceStore } from '../store/resource-store.js';
import { sendError, sendJson } from './admin-responses.js';
import type { AdminCaller, AdminTokens } from './admin-tokens.js';
import { DashboardServer } from './dashboard-server.js';
import { dashboardState, trustRootsOf } from './dashboard-state.js';
import { SidecarTelemetry } from './sidecar-telemetry.js';

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const LOOPBACK_HOST = /^(localhost|127(\.[0-9]{1,3}){3}|\[::1\])(:[0-9]{1,5})?$/;

export interface AdminDependencies {
  readonly store: ResourceStore;
  readonly discovery: DiscoveryService;
  readonly metrics: ControlPlaneMetrics;
  readonly tokens: AdminTokens;
  /** Where every change and every refused change request is recorded (default: stdout). */
  readonly audit?: AuditSink;
  /** The roots sidecars are given, shown on the dashboard. */
  readonly trustBundleFile?: string;
  readonly log: (line: string) => void;
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/.test(request.headers['content-type'] ?? '')) {
    throw new ControlPlaneError('REQUEST_INVALID', 'the body must be application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ControlPlaneError('REQUEST_INVALID', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ControlPlaneError('REQUEST_INVALID', 'the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ControlPlaneError('REQUEST_INVALID', 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

function peerOf(request: IncomingMessage): string {
  return `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? 0}`;
}

function changeBody(result: ChangeResult): ChangeAnswer {
  return {
    dryRun: result.dryRun,
    revision: { number: result.revision.number, hash: result.revision.hash },
    changes: result.changes.map((change) => ({ key: change.key, action: change.action })),
  };
}

export class AdminServer {
  readonly #deps: AdminDependencies;
  readonly #server: Server;
  readonly #dashboard: DashboardServer;

  constructor(deps: AdminDependencies) {
    this.#deps = deps;
    const trustRoots = deps.trustBundleFile === undefined ? [] : trustRootsOf(readFileSync(deps.trustBundleFile, 'utf8'));
    const telemetry = new SidecarTelemetry(
      () => deps.discovery.status().flatMap(({ node }) => (node.admin === undefined ? [] : [{ workload: `${node.namespace}/${node.workload}`, admin: node.admin }])),
      deps.log,
    );
    this.#dashboard = new DashboardServer(deps.tokens, () => dashboardState(deps.store.current(), this.#status(), trustRoots, telemetry.view()), () => telemetry.poll());
    this.#server = createServer((request, response) => {
      this.#route(request, response).catch((error: unknown) => {
        if (error instanceof ChangeRefusedError) deps.metrics.refusedChanges.inc();
        if (error instanceof ControlPlaneError && error.code === 'ADMIN_CREDENTIAL_MISSING') response.setHeader('www-authenticate', 'Bearer realm="weft-admin"');
        if (error instanceof ControlPlaneError && error.code === 'ADMIN_CREDENTIAL_INVALID') response.setHeader('www-authenticate', 'Bearer realm="weft-admin", error="invalid_token"');
        sendError(response, error, deps.log);
      });
    });
  }

  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    const address = this.#server.address() as AddressInfo;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  close(): Promise<void> {
    this.#dashboard.close();
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A web page that rebinds its own name to 127.0.0.1 would be same-origin with this API;
    // it cannot make its Host header a loopback address.
    if (!LOOPBACK_HOST.test(request.headers.host ?? '')) throw new ControlPlaneError('REQUEST_INVALID', 'the admin API answers only requests addressed to a loopback host');
    const url = new URL(request.url ?? '/', 'http://admin');
    if (DashboardServer.handles(url.pathname)) return this.#dashboard.serve(request, response, url);
    const route = `${request.method ?? 'GET'} ${url.pathname}`;
    if (!Object.hasOwn(ADMIN_ROUTES, route)) throw new ControlPlaneError('RESOURCE_NOT_FOUND', `no admin endpoint ${route}`);
    const known = route as AdminRoute;
    if (ADMIN_ROUTES[known] === 'open') return sendJson(response, 200, { ok: true });
    const caller = this.#authorize(request, known);
    const { metrics } = this.#deps;
    switch (known) {
      case 'GET /metrics': {
        const text = await metrics.registry.metrics();
        response.writeHead(200, { 'content-type': metrics.registry.contentType });
        response.end(text);
        return;
      }
      case 'GET /v1/status':
        return sendJson(response, 200, this.#status());
      case 'GET /v1/resources':
        return sendJson(response, 200, this.#resources(url.searchParams));
      case 'POST /v1/apply':
      case 'POST /v1/delete':
        return sendJson(response, 200, await this.#audited(request, known, caller, (body) => this.#change(known, body)));
      default:
        throw new ControlPlaneError('RESOURCE_NOT_FOUND', `no admin endpoint ${route}`);
    }
  }

  /** The caller of a route that needs a credential; refusals of a change are audited. */
  #authorize(request: IncomingMessage, route: AdminRoute): AdminCaller {
    const caller = this.#deps.tokens.authenticate(request.headers.authorization);
    let refusal: ControlPlaneError | undefined;
    if (caller === 'missing') refusal = new ControlPlaneError('ADMIN_CREDENTIAL_MISSING', 'the admin API needs a bearer token: `weft` reads it from --token-file FILE, $WEFT_TOKEN, or the admin-*.token files in the control plane\'s state directory');
    else if (caller === 'invalid') refusal = new ControlPlaneError('ADMIN_CREDENTIAL_INVALID', 'the bearer token is not an admin token of this control plane');
    else if (ADMIN_ROUTES[route] === 'write' && caller.scope !== 'write') refusal = new ControlPlaneError('ADMIN_SCOPE_INSUFFICIENT', `${route} needs the write token; this is the read token`);
    if (refusal === undefined) return caller as AdminCaller;
    if (ADMIN_ROUTES[route] === 'write') {
      this.#audit({ event: 'admin.refused', peer: peerOf(request), caller: typeof caller === 'string' ? 'none' : caller.name, route, code: refusal.code, reason: refusal.message });
    }
    throw refusal;
  }

  /** Runs a change and writes its audit line, applied or refused. */
  async #audited(request: IncomingMessage, route: AdminRoute, caller: AdminCaller, change: (body: Record<string, unknown>) => Promise<ChangeResult>): Promise<ChangeAnswer> {
    const peer = peerOf(request);
    try {
      const result = await change(await readJson(request));
      this.#audit({
        event: 'admin.change',
        peer,
        caller: caller.name,
        route,
        dryRun: result.dryRun,
        revision: result.revision.number,
        changes: result.changes.map((c) => `${c.key} ${c.action}`),
      });
      return changeBody(result);
    } catch (error) {
      const code = error instanceof ChangeRefusedError ? 'CHANGE_REFUSED' : error instanceof ControlPlaneError ? error.code : 'INTERNAL';
      this.#audit({ event: 'admin.refused', peer, caller: caller.name, route, code, reason: error instanceof Error ? error.message.split('\n')[0]! : String(error) });
      throw error;
    }
  }

  #change(route: 'POST /v1/apply' | 'POST /v1/delete', body: Record<string, unknown>): Promise<ChangeResult> {
    const dryRun = body.dryRun === true;
    if (route === 'POST /v1/apply') {
      const files = body.files;
      if (typeof files !== 'object' || files === null || Array.isArray(files) || !Object.values(files).every((t) => typeof t === 'string')) {
        throw new ControlPlaneError('REQUEST_INVALID', 'files must map paths to file contents');
      }
      return this.#deps.store.apply(new Map(Object.entries(files as Record<string, string>)), { dryRun });
    }
    const keys = body.keys;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new ControlPlaneError('REQUEST_INVALID', 'keys must be a list of Kind/namespace/name');
    return this.#deps.store.delete(keys as string[], { dryRun });
  }

  #audit(entry: Parameters<AuditSink>[0]): void {
    (this.#deps.audit ?? stdoutAudit)(entry);
  }

  #status(): StatusAnswer {
    const revision = this.#deps.store.current();
    const now = Date.now();
    return {
      revision: { number: revision.number, hash: revision.hash, createdAt: new Date(revision.createdAt).toISOString() },
      convergence: this.#deps.discovery.convergence(),
      lastRefusal: this.#deps.store.lastRefusal() ?? null,
      sidecars: this.#deps.discovery.status().map((s) => ({
        identity: s.node.id,
        workload: `${s.node.namespace}/${s.node.workload}`,
        inbound: s.node.inbound === undefined ? null : `${s.node.inbound.host}:${s.node.inbound.port}`,
        connectedAt: new Date(s.connectedAt).toISOString(),
        lastSeenMsAgo: now - s.lastSeenAt,
        sentVersion: s.sentVersion ?? null,
        ackedVersion: s.ackedVersion ?? null,
        ackedRevision: s.ackedRevision ?? null,
        lastNack: s.lastNack === undefined ? null : { ...s.lastNack, at: new Date(s.lastNack.at).toISOString() },
      })),
    };
  }

  #resources(query: URLSearchParams): ResourcesAnswer {
    const kind = query.get('kind');
    const name = query.get('name');
    const namespace = query.get('namespace');
    if (kind !== null && !isResourceKind(kind)) throw new ControlPlaneError('REQUEST_INVALID', `unknown kind ${JSON.stringify(kind)}`);
    const found = [...this.#deps.store.current().resources.values()].filter(
      ({ resource }) =>
        (kind === null || resource.kind === kind) &&
        (name === null || resource.metadata.name === name) &&
        (namespace === null || resource.metadata.namespace === namespace),
    );
    if (name !== null && found.length === 0) throw new ControlPlaneError('RESOURCE_NOT_FOUND', `no ${kind ?? 'resource'} named ${name}`);
    return {
      resources: found
        .sort((a, b) => resourceKey(a.resource).localeCompare(resourceKey(b.resource)))
        .map(({ resource, source }) => ({ key: resourceKey(resource), source, document: encodeResource(resource) as ResourcesAnswer['resources'][number]['document'] })),
    };
  }
}
