// A mesh authorization policy set in the shape people write for the OPA-Envoy plugin, generated
// at any size, and requests to decide. Shared by the policy benchmark and its tests.

export interface AuthzRequest {
  readonly attributes: {
    readonly source: { readonly principal: string; readonly address: { readonly socketAddress: { readonly address: string } } };
    readonly destination: { readonly principal: string };
    readonly request: { readonly http: { readonly id: string; readonly method: string; readonly path: string; readonly host: string; readonly headers: Record<string, string> } };
  };
  readonly parsed_path: readonly string[];
  readonly weft: { readonly jwt?: { readonly claims: { readonly sub: string; readonly scope: readonly string[]; readonly roles: readonly string[] } } };
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

export function serviceName(i: number): string {
  return `svc${i}`;
}

/** `rules` allow rules, each keyed on a caller principal, a method and a path prefix. */
export function authzPolicy(rules: number): string {
  const lines = [
    'package envoy.authz',
    '',
    'import rego.v1',
    '',
    'default allow := false',
    '',
    'claims := input.weft.jwt.claims',
    '',
    'admin if "admin" in claims.roles',
    '',
    'allow if {',
    '\tadmin',
    '\tinput.attributes.request.http.headers["x-break-glass"] == "yes"',
    '}',
  ];
  for (let i = 0; i < rules - 1; i++) {
    const method = METHODS[i % METHODS.length]!;
    lines.push(
      '',
      'allow if {',
      `\tinput.attributes.source.principal == "spiffe://weft.local/ns/shop/sa/${serviceName(i)}"`,
      `\tinput.attributes.request.http.method == "${method}"`,
      `\tstartswith(input.attributes.request.http.path, "/api/${serviceName(i)}/")`,
      `\t"${method === 'GET' ? 'read' : 'write'}" in claims.scope`,
      '}',
    );
  }
  return lines.join('\n') + '\n';
}

function pick(seed: number, length: number): number {
  return (seed * 2654435761) % length;
}

/** Requests against a policy of `rules` rules; about half are allowed. */
export function authzRequests(rules: number, count: number): AuthzRequest[] {
  const out: AuthzRequest[] = [];
  for (let n = 0; n < count; n++) {
    const i = pick(n + 1, Math.max(1, rules - 1));
    const allowed = n % 2 === 0;
    const method = METHODS[i % METHODS.length]!;
    const path = `/api/${serviceName(allowed ? i : i + 1)}/items/${n}?page=2`;
    out.push({
      attributes: {
        source: { principal: `spiffe://weft.local/ns/shop/sa/${serviceName(i)}`, address: { socketAddress: { address: '10.0.0.7' } } },
        destination: { principal: 'spiffe://weft.local/ns/shop/sa/catalog' },
        request: {
          http: {
            id: String(n),
            method,
            path,
            host: 'catalog.shop',
            headers: { ':authority': 'catalog.shop', 'user-agent': 'bench/1.0', 'x-request-id': `req-${n}`, accept: 'application/json' },
          },
        },
      },
      parsed_path: path.split('?')[0]!.split('/').slice(1),
      weft: { jwt: { claims: { sub: `user-${n}`, scope: ['read', 'write'], roles: ['viewer'] } } },
    });
  }
  return out;
}

/** The same decision written directly in JavaScript: the baseline the engine is compared with. */
export function nativeDecision(rules: number): (input: AuthzRequest) => boolean {
  const byPrincipal = new Map<string, { method: string; prefix: string }[]>();
  for (let i = 0; i < rules - 1; i++) {
    const principal = `spiffe://weft.local/ns/shop/sa/${serviceName(i)}`;
    const list = byPrincipal.get(principal) ?? [];
    list.push({ method: METHODS[i % METHODS.length]!, prefix: `/api/${serviceName(i)}/` });
    byPrincipal.set(principal, list);
  }
  return (input) => {
    const claims = input.weft.jwt?.claims;
    if (claims === undefined) return false;
    const http = input.attributes.request.http;
    if (claims.roles.includes('admin') && http.headers['x-break-glass'] === 'yes') return true;
    for (const rule of byPrincipal.get(input.attributes.source.principal) ?? []) {
      if (http.method === rule.method && http.path.startsWith(rule.prefix) && claims.scope.includes(rule.method === 'GET' ? 'read' : 'write')) return true;
    }
    return false;
  };
}

/**
 * A service's inbound policy of `rules` allow rules as a mesh team writes it: a break-glass
 * rule (operators' namespace and a header), then per caller principal the kind of call (gRPC:
 * POST with the gRPC content-type; HTTP: GET or HEAD), and a path prefix; the last rule lets
 * `caller` call `pathPrefix`, so an allowed call is decided after every other rule was tried.
 * Its entrypoint is `data.mesh.grpc.allow` or `data.mesh.http.allow`.
 */
export function callerAuthzPolicy(rules: number, caller: { principal: string; pathPrefix: string }, trustDomain: string, kind: 'grpc' | 'http' = 'grpc'): string {
  const lines = [
    `package mesh.${kind}`,
    '',
    'import rego.v1',
    '',
    'default allow := false',
    '',
    'http := input.attributes.request.http',
    '',
    ...(kind === 'grpc'
      ? ['call if {', '\thttp.method == "POST"', '\tstartswith(http.headers["content-type"], "application/grpc")', '}']
      : ['call if http.method in {"GET", "HEAD"}']),
    '',
    'allow if {',
    `\tstartswith(input.attributes.source.principal, "spiffe://${trustDomain}/ns/ops/")`,
    '\thttp.headers["x-break-glass"] == "yes"',
    '}',
  ];
  const callers = Array.from({ length: rules - 2 }, (_, i) => ({
    principal: `spiffe://${trustDomain}/ns/shop/sa/${serviceName(i)}`,
    pathPrefix: kind === 'grpc' ? `/shop.${serviceName(i)}.v1.` : `/api/${serviceName(i)}/`,
  }));
  for (const rule of [...callers, caller]) {
    lines.push('', 'allow if {', `\tinput.attributes.source.principal == "${rule.principal}"`, '\tcall', `\tstartswith(http.path, "${rule.pathPrefix}")`, '}');
  }
  return lines.join('\n') + '\n';
}
