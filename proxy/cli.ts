// `weft proxy`: runs one sidecar until SIGTERM or SIGINT, then drains (stops accepting, lets
// requests in flight finish up to the deadline) and exits 0. Its config comes from a YAML file
// (`--config`) or from the control plane (`--control-plane`), which also issues its certificate.
import { isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config/load-config.js';
import type { ManagedSidecar } from './managed-sidecar.js';
import { limitHeapGrowth } from './runtime/heap-growth.js';
import { Sidecar } from './sidecar.js';
import { startMeshSecurity } from './tls/mesh-security.js';
import { DEFAULT_CLUSTER_DOMAIN, isDnsName } from '../control-plane/api/service-hosts.js';
import { controlPlaneTarget } from './xds/control-plane-target.js';
import type { LocalSidecarSettings } from './xds/sidecar-config-from-snapshot.js';

export const usage = `usage: weft proxy --config FILE
       weft proxy --control-plane HOST:PORT[,HOST:PORT...] --workload NAME [options]

Runs one sidecar proxy, configured by a YAML file (see proxy/README.md) or by the control plane.

options:
  --config FILE             the sidecar's config
  --control-plane HOST:PORT the control plane's gRPC port: certificate (bootstrap token) and config;
                            several replicas as IP:PORT,IP:PORT (the first that answers is used,
                            another when it is lost)
  --workload NAME           the Workload this sidecar serves (with --control-plane)
  --namespace NS            default: default
  --service-account NAME    default: the workload name
  --trust-domain NAME       default: cluster.local
  --trust-bundle FILE       roots that vouch for the control plane
                            (default .weft/control-plane/ca/root-cert.pem)
  --token-file FILE         the bootstrap token (\`weft token create\`); else $WEFT_BOOTSTRAP_TOKEN
  --pod-ip IP               in a pod (the injector sets it from status.podIP): the mesh listener
                            takes every address and this one is announced to callers
                            (default: 127.0.0.1, one machine)
  --cluster-domain NAME     services are also called <name>.<ns>.svc.NAME (default cluster.local)
  --app-port PORT           the app on 127.0.0.1 (default: the Workload's first port)
  --inbound-port PORT       mesh listener, announced to callers (default 15006; not 0)
  --outbound-port PORT      the app's way out (default 15001; 0 picks a free one)
  --admin-port PORT         /ready, /metrics, /certs on 127.0.0.1 (default 15000; 0 picks a free one)
  --state-dir DIR           the last applied snapshot (default .weft/sidecars/<workload>)
  -h, --help                show this help`;

function usageError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

function show(address: AddressInfo | undefined): string {
  return address === undefined ? '-' : `${address.address}:${address.port}`;
}

function portFlag(name: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < min || port > 65535) throw usageError(`--${name} must be a port number${min > 0 ? ` from ${min}` : ''}, not ${JSON.stringify(text)}`);
  return port;
}

const options = {
  config: { type: 'string' },
  'control-plane': { type: 'string' },
  workload: { type: 'string' },
  namespace: { type: 'string', default: 'default' },
  'service-account': { type: 'string' },
  'trust-domain': { type: 'string', default: 'cluster.local' },
  'trust-bundle': { type: 'string', default: '.weft/control-plane/ca/root-cert.pem' },
  'token-file': { type: 'string' },
  'app-port': { type: 'string' },
  'inbound-port': { type: 'string' },
  'outbound-port': { type: 'string' },
  'admin-port': { type: 'string' },
  'state-dir': { type: 'string' },
  'pod-ip': { type: 'string' },
  'cluster-domain': { type: 'string', default: DEFAULT_CLUSTER_DOMAIN },
} as const;


type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; strict: true }>>['values'];

function localSettings(values: Values, controlPlane: string): LocalSidecarSettings {
  const workload = values.workload;
  if (workload === undefined || workload === '') throw usageError('--workload NAME is required with --control-plane');
  let target: string;
  try {
    target = controlPlaneTarget(controlPlane);
  } catch (error) {
    throw usageError((error as Error).message);
  }
  const appPort = values['app-port'] === undefined ? undefined : portFlag('app-port', values['app-port'], 0, 1);
  const podIp = values['pod-ip'];
  if (podIp !== undefined && isIP(podIp) === 0) throw usageError(`--pod-ip must be an IP address, not ${JSON.stringify(podIp)}`);
  if (!isDnsName(values['cluster-domain'])) throw usageError(`--cluster-domain must be a DNS name, not ${JSON.stringify(values['cluster-domain'])}`);
  return {
    workload,
    namespace: values.namespace,
    clusterDomain: values['cluster-domain'],
    // Intercepted connections arrive at the pod IP, and other pods' sidecars dial it.
    ...(podIp === undefined ? {} : { announcedHost: podIp }),
    identity: {
      trustDomain: values['trust-domain'],
      ...(values['service-account'] === undefined ? {} : { serviceAccount: values['service-account'] }),
      ca: { address: target, trustBundleFile: values['trust-bundle'] },
      ...(values['token-file'] === undefined ? {} : { bootstrapTokenFile: values['token-file'] }),
      certificateTtlSeconds: 0,
    },
    ...(appPort === undefined ? {} : { appPort }),
    inbound: { address: podIp === undefined ? '127.0.0.1' : isIP(podIp) === 6 ? '::' : '0.0.0.0', port: portFlag('inbound-port', values['inbound-port'], 15006, 1) },
    outbound: { address: '127.0.0.1', port: portFlag('outbound-port', values['outbound-port'], 15001) },
    admin: { address: '127.0.0.1', port: portFlag('admin-port', values['admin-port'], 15000) },
  };
}

async function startFromFile(file: string): Promise<{ sidecar: Sidecar; workload: string; stop: () => Promise<void> }> {
  const config = await loadConfigFile(file);
  const security = await startMeshSecurity(config);
  let sidecar: Sidecar;
  try {
    sidecar = await Sidecar.start(config, security === undefined ? {} : { security, identity: security.identity });
  } catch (error) {
    security?.identity.stop();
    throw Object.assign(new Error(`cannot start: ${(error as Error).message}`), { exitCode: 1 });
  }
  return { sidecar, workload: config.workload, stop: async () => {
    await sidecar.drain();
    security?.identity.stop();
  } };
}

async function startFromControlPlane(values: Values, controlPlane: string): Promise<{ sidecar: Sidecar; workload: string; stop: () => Promise<void> }> {
  const local = localSettings(values, controlPlane);
  // Loaded only here: a sidecar run from a file never holds grpc-js and the Rego engine.
  const { ManagedSidecar: Managed } = await import('./managed-sidecar.js');
  let managed: ManagedSidecar;
  try {
    managed = await Managed.start({ local, stateDir: values['state-dir'] ?? join('.weft', 'sidecars', local.workload) });
  } catch (error) {
    if (typeof (error as { exitCode?: unknown }).exitCode === 'number') throw error;
    throw Object.assign(new Error(`cannot start: ${(error as Error).message}`), { exitCode: 1 });
  }
  return { sidecar: managed.sidecar, workload: local.workload, stop: () => managed.drain() };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const controlPlane = values['control-plane'];
  if ((values.config === undefined) === (controlPlane === undefined)) throw usageError('give either --config FILE or --control-plane HOST:PORT');
  limitHeapGrowth();
  // A signal while the sidecar is still waiting for its certificate or first snapshot ends it.
  const early = (signal: NodeJS.Signals) => {
    process.stderr.write(`weft proxy: ${signal} before ready, exiting\n`);
    process.exit(0);
  };
  process.once('SIGTERM', early);
  process.once('SIGINT', early);
  const running = controlPlane === undefined ? await startFromFile(values.config!) : await startFromControlPlane(values, controlPlane);
  process.off('SIGTERM', early);
  process.off('SIGINT', early);
  const { admin, inbound, outbound } = running.sidecar.addresses;
  process.stderr.write(`weft proxy: ready workload=${running.workload} inbound=${show(inbound)} outbound=${show(outbound)} admin=${show(admin)}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  process.stderr.write(`weft proxy: ${signal}, draining (deadline ${running.sidecar.holder.current.config.drain.deadlineMs} ms)\n`);
  await running.stop();
  process.stderr.write('weft proxy: drained\n');
  return 0;
}
