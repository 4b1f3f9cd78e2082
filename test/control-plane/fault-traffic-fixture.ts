// What the fault tests with traffic share: one request through the mesh, and the policies they
// change while the mesh is under load.
import http from 'node:http';

/** The status of one GET sent into a sidecar's outbound port for `host`; 0 on a transport error. */
export function statusThroughMesh(port: number, host: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 5000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(0));
  });
}

/** GETs are allowed except under /orders/forbidden. */
export const SPARE_FORBIDDEN_REGO = `package weft.authz

default allow := false

allow if {
  input.attributes.request.http.method == "GET"
  not startswith(input.attributes.request.http.path, "/orders/forbidden")
}
`;

export const DENY_ALL_REGO = `package weft.authz

default allow := false
`;
