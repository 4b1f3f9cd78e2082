// What weft up reads from the running mesh, over the same APIs an operator uses: the control
// plane's admin API (resources, each sidecar's ACKed version) and each sidecar's admin port.
import { connect } from 'node:net';

export interface SidecarState {
  readonly workload: string;
  readonly ackedVersion: string | null;
  readonly sentVersion: string | null;
  readonly lastNack: { message: string } | null;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
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
export async function workloadAccounts(adminUrl: string): Promise<Map<string, string>> {
  const body = (await getJson(`${adminUrl}/v1/resources?kind=Workload`)) as { resources: { document: { metadata: { name: string; namespace?: string }; spec: { serviceAccount?: string } } }[] };
  return new Map(body.resources.map(({ document: d }) => [`${d.metadata.namespace ?? 'default'}/${d.metadata.name}`, d.spec.serviceAccount ?? d.metadata.name]));
}

export async function sidecarStates(adminUrl: string): Promise<SidecarState[]> {
  const body = (await getJson(`${adminUrl}/v1/status`)) as { sidecars: SidecarState[] };
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
