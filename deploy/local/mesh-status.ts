// What weft up reads from the running mesh, over the same APIs an operator uses: the control
// plane's admin API (resources, each sidecar's ACKed version; with its read token) and each
// sidecar's admin port.
import { connect } from 'node:net';
import type { ResourcesAnswer, StatusAnswer } from '../../control-plane/api/admin-contract.js';
import type { AdminTarget } from '../../control-plane/cli/admin-client.js';

export interface SidecarState {
  readonly workload: string;
  readonly ackedVersion: string | null;
  readonly sentVersion: string | null;
  readonly lastNack: { message: string } | null;
}

async function getJson(admin: AdminTarget, path: string): Promise<unknown> {
  const url = `${admin.base}${path}`;
  const headers: Record<string, string> = admin.token === undefined ? {} : { authorization: `Bearer ${admin.token}` };
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

export async function healthy(adminUrl: string): Promise<boolean> {
  try {
    return (await fetch(`${adminUrl}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** Service account of each Workload, by `namespace/name`. */
export async function workloadAccounts(admin: AdminTarget): Promise<Map<string, string>> {
  const body = (await getJson(admin, '/v1/resources?kind=Workload')) as ResourcesAnswer;
  return new Map(body.resources.map(({ document: d }) => [`${d.metadata.namespace}/${d.metadata.name}`, typeof d.spec?.serviceAccount === 'string' ? d.spec.serviceAccount : d.metadata.name]));
}

export async function sidecarStates(admin: AdminTarget): Promise<SidecarState[]> {
  const body = (await getJson(admin, '/v1/status')) as StatusAnswer;
  return body.sidecars;
}

/** The sidecar answers /ready (listening) and /certs (holds a certificate). */
export async function sidecarServing(adminUrl: string): Promise<boolean> {
  try {
    const [ready, certs] = await Promise.all(['/ready', '/certs'].map((path) => fetch(`${adminUrl}${path}`, { signal: AbortSignal.timeout(1000) })));
    return ready!.ok && certs!.ok;
  } catch {
    return false;
  }
}

export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
