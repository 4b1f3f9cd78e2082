// A sidecar run by the control plane: its identity from the CA (bootstrap token), then its
// config from the discovery stream. The first snapshot (or the persisted one, when the control
// plane is down) starts the listeners; each later snapshot is translated, validated, compiled
// and only then swapped in and ACKed, or NACKed while the sidecar keeps running on the last one.
import { join } from 'node:path';
import type { SidecarConfig } from './config/types.js';
import { loadFilters } from './filters/registry.js';
import { Sidecar } from './sidecar.js';
import { MeshTransportSecurity, startWorkloadIdentity } from './tls/mesh-security.js';
import type { WorkloadIdentity } from './tls/workload-identity.js';
import { SidecarDiscoveryClient } from './xds/discovery-client.js';
import { sidecarConfigFromSnapshot, type LocalSidecarSettings } from './xds/sidecar-config-from-snapshot.js';
import { SnapshotHolder } from './xds/snapshot-holder.js';
import { compileSnapshotPolicies, type CompiledPolicy } from './xds/snapshot-policies.js';

/** What a sidecar builds from each snapshot before accepting it. */
export interface ManagedSnapshot {
  readonly config: SidecarConfig;
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
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
  ) {}

  static async start(options: ManagedSidecarOptions): Promise<ManagedSidecar> {
    const { local } = options;
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    // Snapshots are applied synchronously once acknowledged: load the filters they produce first.
    await loadFilters(['jwt', 'authz']);
    const identity = await startWorkloadIdentity(local.identity, local, options.env, log);
    const snapshots = new SnapshotHolder<ManagedSnapshot>();
    const discovery = new SidecarDiscoveryClient<ManagedSnapshot>({
      target: local.identity.ca.address,
      credentials: () => identity.controlPlaneCredentials(),
      // The control plane is checked by its SPIFFE ID; a fixed server name keeps IPs out of SNI.
      channelOptions: { 'grpc.ssl_target_name_override': 'weft-control-plane' },
      node: {
        id: identity.current.spiffeId,
        workload: local.workload,
        namespace: local.namespace,
        inboundAddress: `${local.inbound.address === '0.0.0.0' ? '127.0.0.1' : local.inbound.address}:${local.inbound.port}`,
      },
      holder: snapshots,
      compile: (snapshot) => ({ config: sidecarConfigFromSnapshot(snapshot, local), policies: compileSnapshotPolicies(snapshot) }),
      snapshotFile: join(options.stateDir, 'snapshot.json'),
      log,
    });
    discovery.on('applied', (snapshot, source) => log(`weft proxy: snapshot ${snapshot.version} (revision ${snapshot.revision}) applied from ${source}`));
    const first = new Promise<ManagedSnapshot>((resolve) => {
      const stop = snapshots.onChange((applied) => {
        stop();
        resolve(applied.compiled);
      });
    });
    try {
      await discovery.start();
      const { config } = await first;
      const sidecar = await Sidecar.start(config, { security: new MeshTransportSecurity(identity), identity });
      const apply = (compiled: ManagedSnapshot) => sidecar.reconfigure(compiled.config);
      snapshots.onChange(({ compiled }) => apply(compiled));
      // A snapshot may have arrived while the listeners were opening.
      const latest = snapshots.current()?.compiled;
      if (latest !== undefined && latest.config !== config) apply(latest);
      return new ManagedSidecar(sidecar, discovery, snapshots, identity);
    } catch (error) {
      discovery.stop();
      identity.stop();
      throw error;
    }
  }

  async drain(): Promise<void> {
    this.discovery.stop();
    await this.sidecar.drain();
    this.identity.stop();
  }
}
