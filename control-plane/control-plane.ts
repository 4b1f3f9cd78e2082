// Composes a running control plane: the store, the discovery service and the inference load hub
// on its gRPC port, the admin API on loopback, and the metrics. Every revision the store accepts is pushed; every
// change it refuses is logged with all its problems.
import { Server, type ServerCredentials } from '@grpc/grpc-js';
import { AdminServer } from './admin/admin-server.js';
import type { AdminTokens } from './admin/admin-tokens.js';
import type { AuditSink } from './ca/audit-log.js';
import { discoveryService, MAX_SNAPSHOT_BYTES } from './api/discovery-contract.js';
import { ControlPlaneMetrics } from './distribution/control-plane-metrics.js';
import { DiscoveryService } from './distribution/discovery-service.js';
import { InferenceLoadHub } from './distribution/inference-load-hub.js';
import { loadReportingService } from './api/load-reporting-contract.js';
import { LocalEndpointDirectory, type EndpointDirectory } from './distribution/endpoint-directory.js';
import type { PeerSpiffeId } from './distribution/sidecar-identity.js';
import { formatProblem } from './errors.js';
import type { ResourceStore } from './store/resource-store.js';

export interface ControlPlaneOptions {
  readonly store: ResourceStore;
  /** The endpoints shared with other replicas (etcd store); by default only this one's. */
  readonly endpoints?: EndpointDirectory;
  readonly trustDomain: string;
  readonly grpc: {
    readonly host: string;
    readonly port: number;
    readonly credentials: ServerCredentials;
    readonly peerIdentity?: PeerSpiffeId;
    /** Other services on the same port (the CA's issuing API). */
    readonly addServices?: (server: Server) => void;
  };
  /** The admin API on loopback, and the tokens it accepts (admin/admin-tokens.ts). */
  readonly admin: { readonly host: string; readonly port: number; readonly tokens: AdminTokens; readonly audit?: AuditSink; readonly trustBundleFile?: string };
  readonly debounceQuietMs?: number;
  readonly debounceMaxMs?: number;
  /** See RESYNC_HOLD in distribution/discovery-service.ts. */
  readonly resyncHold?: { readonly afterConnectMs: number; readonly afterStartMs: number };
  readonly log: (line: string) => void;
}

export interface RunningControlPlane {
  readonly grpcAddress: string;
  readonly adminUrl: string;
  readonly discovery: DiscoveryService;
  readonly metrics: ControlPlaneMetrics;
  close(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const { store, log } = options;
  const metrics = new ControlPlaneMetrics();
  const endpoints = options.endpoints ?? new LocalEndpointDirectory();
  const discovery = new DiscoveryService({
    revision: () => store.current(),
    metrics,
    trustDomain: options.trustDomain,
    ...(options.grpc.peerIdentity === undefined ? {} : { peerIdentity: options.grpc.peerIdentity }),
    ...(options.debounceQuietMs === undefined ? {} : { debounceQuietMs: options.debounceQuietMs }),
    ...(options.debounceMaxMs === undefined ? {} : { debounceMaxMs: options.debounceMaxMs }),
    ...(options.resyncHold === undefined ? {} : { resyncHold: options.resyncHold }),
    endpoints,
    log,
  });
  const loadHub = new InferenceLoadHub({
    revision: () => store.current(),
    trustDomain: options.trustDomain,
    ...(options.grpc.peerIdentity === undefined ? {} : { peerIdentity: options.grpc.peerIdentity }),
    log,
  });
  const first = await store.start({
    revision: (revision) => {
      log(`control-plane: revision ${revision.number} accepted (${revision.resources.size} resources, ${revision.hash.slice(0, 12)})`);
      discovery.changed();
      loadHub.changed();
    },
    refused: (refusal) => {
      metrics.refusedChanges.inc();
      log(`control-plane: change refused whole, revision ${store.current().number} stays:\n${refusal.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    },
  });
  metrics.revision.set(first.number);
  try {
    await endpoints.start(() => discovery.changed());
  } catch (error) {
    await endpoints.close();
    await store.close();
    throw error;
  }
  log(`control-plane: revision ${first.number} loaded (${first.resources.size} resources)`);

  const server = new Server({ 'grpc.max_send_message_length': MAX_SNAPSHOT_BYTES, 'grpc.max_receive_message_length': 1024 * 1024 });
  server.addService(discoveryService, discovery.handlers());
  server.addService(loadReportingService, loadHub.handlers());
  loadHub.start();
  options.grpc.addServices?.(server);
  const admin = new AdminServer({ store, discovery, metrics, log, tokens: options.admin.tokens, ...(options.admin.audit === undefined ? {} : { audit: options.admin.audit }), ...(options.admin.trustBundleFile === undefined ? {} : { trustBundleFile: options.admin.trustBundleFile }) });
  let port: number;
  let adminUrl: string;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${options.grpc.host}:${options.grpc.port}`, options.grpc.credentials, (error, bound) => (error === null ? resolve(bound) : reject(error)));
    });
    adminUrl = await admin.listen(options.admin.host, options.admin.port);
  } catch (error) {
    // Nothing may stay open: the process must be able to exit with the error.
    server.forceShutdown();
    discovery.close();
    loadHub.close();
    await admin.close();
    await endpoints.close();
    await store.close();
    throw error;
  }
  const grpcHost = options.grpc.host.includes(':') ? `[${options.grpc.host}]` : options.grpc.host;
  return {
    grpcAddress: `${grpcHost}:${port}`,
    adminUrl,
    discovery,
    metrics,
    async close() {
      discovery.close();
      loadHub.close();
      await admin.close();
      // Streams were ended above; a peer that does not finish in time is cut.
      const forced = setTimeout(() => server.forceShutdown(), 2000);
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      clearTimeout(forced);
      await endpoints.close();
      await store.close();
    },
  };
}
