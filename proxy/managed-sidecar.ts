// A sidecar run by the control plane: its identity from the CA (bootstrap token), then its
// config from the discovery stream. Each snapshot (the persisted one first, when there is one) is
// translated, validated, its policies compiled and its whole data path built (every listener's
// filters, every cluster and balancer) beside the running one; only then is it swapped in and
// ACKed. Anything that fails is a NACK naming the part, and the sidecar keeps running, and
// reporting, the previous snapshot. The first snapshot that builds starts the listeners.
// Beside it, the load stream: a model server's engine load to the control plane, and the load of
// the inference pools this sidecar calls into their clusters' balancers.
import { join } from 'node:path';
import type { SidecarConfig } from './config/types.js';
import { ownLoadOf } from './filters/inference/engine-load-gauges.js';
import { reportPoolLoad } from './filters/inference/inference-balancer.js';
import { loadFilters } from './filters/registry.js';
import { Sidecar } from './sidecar.js';
import { MeshTransportSecurity, startWorkloadIdentity } from './tls/mesh-security.js';
import type { WorkloadIdentity } from './tls/workload-identity.js';
import { SidecarDiscoveryClient, type SidecarNodeInfo } from './xds/discovery-client.js';
import { LoadStreamClient } from './xds/load-stream-client.js';
import { sidecarConfigFromSnapshot, type LocalSidecarSettings } from './xds/sidecar-config-from-snapshot.js';
import { SnapshotHolder } from './xds/snapshot-holder.js';
import { compileSnapshotPolicies, type CompiledPolicy } from './xds/snapshot-policies.js';
import type { Snapshot } from './xds/snapshot.js';
import type { DataPath } from './runtime/snapshot.js';

/** What a sidecar builds from each snapshot before accepting it. */
export interface ManagedSnapshot {
  readonly config: SidecarConfig;
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
  /** Run from the moment the snapshot is swapped in. */
  readonly dataPath: DataPath;
}

export interface ManagedSidecarOptions {
  readonly local: LocalSidecarSettings;
  /** Holds the persisted snapshot (`snapshot.json`). */
  readonly stateDir: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
}

export class ManagedSidecar {
  private constructor(
    readonly sidecar: Sidecar,
    readonly discovery: SidecarDiscoveryClient<ManagedSnapshot>,
    readonly snapshots: SnapshotHolder<ManagedSnapshot>,
    readonly identity: WorkloadIdentity,
    readonly load: LoadStreamClient,
  ) {}

  static async start(options: ManagedSidecarOptions): Promise<ManagedSidecar> {
    const { local } = options;
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    // Data paths are built synchronously: load the filters snapshots produce first.
    await loadFilters(['jwt', 'authz']);
    const identity = await startWorkloadIdentity(local.identity, local, options.env, log);
    const snapshots = new SnapshotHolder<ManagedSnapshot>();
    let sidecar: Sidecar | undefined;
    const build = async (snapshot: Snapshot): Promise<ManagedSnapshot> => {
      const config = sidecarConfigFromSnapshot(snapshot, local);
      // A snapshot may bring a lazily loaded filter the earlier ones did not (a LegacyBridge).
      await loadFilters([...(config.inbound?.filters ?? []), ...(config.outbound?.filters ?? [])].map((f) => f.name));
      const policies = compileSnapshotPolicies(snapshot);
      if (sidecar !== undefined) return { config, policies, dataPath: sidecar.buildDataPath(config) };
      sidecar = await Sidecar.build(config, { security: new MeshTransportSecurity(identity), identity });
      return { config, policies, dataPath: sidecar.holder.current };
    };
    snapshots.onChange(({ compiled }) => {
      const running = sidecar!;
      if (running.holder.current === compiled.dataPath) return;
      // A changed inbound mTLS mode applies at once (the listener follows the data path).
      running.install(compiled.dataPath);
    });
    const announcedHost = local.announcedHost ?? (local.inbound.address === '0.0.0.0' ? '127.0.0.1' : local.inbound.address);
    const node: SidecarNodeInfo = {
      id: identity.current.spiffeId,
      workload: local.workload,
      namespace: local.namespace,
      inboundAddress: `${announcedHost}:${local.inbound.port}`,
      // A free admin port (0) is not known yet here: not announced.
      ...(local.admin.port === 0 ? {} : { adminAddress: `${announcedHost}:${local.admin.port}` }),
    };
    const controlPlane = {
      target: local.identity.ca.address,
      credentials: () => identity.controlPlaneCredentials(),
      // The control plane is checked by its SPIFFE ID; a fixed server name keeps IPs out of SNI.
      channelOptions: { 'grpc.ssl_target_name_override': 'weft-control-plane' },
      node,
      log,
    };
    const discovery = new SidecarDiscoveryClient<ManagedSnapshot>({
      ...controlPlane,
      holder: snapshots,
      compile: build,
      snapshotFile: join(options.stateDir, 'snapshot.json'),
    });
    const load = new LoadStreamClient({
      ...controlPlane,
      ownLoad: () => (sidecar === undefined ? undefined : ownLoadOf(sidecar.metrics.registry)),
      received: (pool, endpoint, reported, at) => {
        if (sidecar !== undefined) reportPoolLoad(sidecar.holder.current.clusters, pool, endpoint, reported, at);
      },
    });
    discovery.on('applied', (snapshot, source) => log(`weft proxy: snapshot ${snapshot.version} (revision ${snapshot.revision}) applied from ${source}`));
    const first = new Promise<void>((resolve) => {
      const stop = snapshots.onChange(() => {
        stop();
        resolve();
      });
    });
    try {
      await discovery.start();
      await first;
      await sidecar!.listen();
      load.start();
      return new ManagedSidecar(sidecar!, discovery, snapshots, identity, load);
    } catch (error) {
      discovery.stop();
      identity.stop();
      throw error;
    }
  }

  async drain(): Promise<void> {
    this.discovery.stop();
    this.load.stop();
    await this.sidecar.drain();
    this.identity.stop();
  }
}
