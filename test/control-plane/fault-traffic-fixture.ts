// What the fault tests with traffic share: two managed sidecars under load, one request through
// the mesh, and the policies they change while the mesh is under load.
import http from 'node:http';
import { trafficLoop, type TrafficLoop } from '../helpers/traffic-loop.js';
import { echoServer } from '../helpers/upstream.js';
import { until } from './control-plane-fixture.js';
import { spawnManagedSidecar } from './managed-sidecar-process.js';

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

export interface MeshUnderTraffic {
  /** The status of a GET from web to orders at `path`. */
  status(path: string): Promise<number>;
  /** GETs of /orders/1 from web to orders, already answered more than 50 times. */
  readonly traffic: TrafficLoop;
}

/**
 * `web` and `orders` as two `weft proxy --control-plane` processes in front of one app, web
 * reaching orders, then a bounded request loop from web to orders; all stopped by `defer`.
 */
export async function meshUnderTraffic(options: {
  controlPlane: string;
  trustBundle: string;
  token: (workload: string) => Promise<string>;
  defer: (cleanup: () => Promise<void> | void) => void;
}): Promise<MeshUnderTraffic> {
  const { defer } = options;
  const app = await echoServer();
  defer(() => app.close());
  const common = { controlPlane: options.controlPlane, trustBundle: options.trustBundle, appPort: app.port };
  const orders = await spawnManagedSidecar({ ...common, workload: 'orders', token: await options.token('orders') });
  defer(() => orders.kill());
  const web = await spawnManagedSidecar({ ...common, workload: 'web', token: await options.token('web') });
  defer(() => web.kill());
  const status = (path: string) => statusThroughMesh(web.outboundPort, 'orders', path);
  await until(async () => (await status('/orders/1')) === 200, 'web to reach orders through the mesh', 20_000);
  const traffic = trafficLoop({ port: web.outboundPort, host: 'orders', path: '/orders/1', maxMs: 90_000 });
  defer(async () => void (await traffic.stop()));
  await until(() => traffic.answered() > 50, 'traffic through the mesh');
  return { status, traffic };
}
