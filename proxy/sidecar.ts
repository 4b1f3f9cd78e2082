// One sidecar: a snapshot built from the config, the inbound and outbound listeners, the admin
// listener, metrics and access log. It either starts whole or not at all.
import type { AddressInfo } from 'node:net';
import type { SidecarConfig } from './config/types.js';
import { AdminListener } from './listeners/admin-listener.js';
import { HttpListener } from './listeners/http-listener.js';
import { buildSnapshot, SnapshotHolder, type SnapshotDeps } from './runtime/snapshot.js';
import { loadFilters } from './filters/registry.js';
import { AccessLog } from './telemetry/access-log.js';
import { SidecarMetrics } from './telemetry/metrics.js';
import { certificateReport, registerCertificateExpiry } from './tls/certificate-report.js';
import type { WorkloadIdentity } from './tls/workload-identity.js';
import { plaintext, type TransportSecurity } from './transport-security.js';

export interface SidecarOptions {
  readonly security?: TransportSecurity;
  /** The mesh identity behind `security`, for /certs and the certificate expiry metric. */
  readonly identity?: WorkloadIdentity;
  /** Where access-log lines go (stdout by default). */
  readonly accessLogOut?: NodeJS.WritableStream;
}

export interface SidecarAddresses {
  readonly admin: AddressInfo;
  readonly inbound: AddressInfo | undefined;
  readonly outbound: AddressInfo | undefined;
}

export class Sidecar {
  ready = false;

  private constructor(
    readonly holder: SnapshotHolder,
    readonly metrics: SidecarMetrics,
    private readonly inbound: HttpListener | undefined,
    private readonly outbound: HttpListener | undefined,
    private readonly admin: AdminListener,
    readonly addresses: SidecarAddresses,
    private readonly deps: SnapshotDeps,
  ) {}

  static async start(config: SidecarConfig, options: SidecarOptions = {}): Promise<Sidecar> {
    const security = options.security ?? plaintext;
    const metrics = new SidecarMetrics();
    const accessLog = new AccessLog(config.accessLog.mode, config.accessLog.sampleRate, options.accessLogOut);
    await loadFilters(filterNames(config));
    const deps: SnapshotDeps = { metrics, accessLog, security };
    const holder = new SnapshotHolder(buildSnapshot(config, deps));
    const listener = (direction: 'inbound' | 'outbound') => {
      const at = config[direction];
      if (at === undefined) return undefined;
      return new HttpListener({ direction, address: at.address, port: at.port, limits: config.limits, security, holder });
    };
    const inbound = listener('inbound');
    const outbound = listener('outbound');
    let sidecar: Sidecar | undefined;
    const { identity } = options;
    if (identity !== undefined) registerCertificateExpiry(metrics.registry, identity);
    const certs = identity === undefined ? undefined : () => certificateReport(identity);
    const admin = new AdminListener(config.admin.address, config.admin.port, () => sidecar?.ready === true, holder, metrics, certs);
    try {
      const [inboundAddress, outboundAddress, adminAddress] = await Promise.all([inbound?.listen(), outbound?.listen(), admin.listen()]);
      sidecar = new Sidecar(holder, metrics, inbound, outbound, admin, {
        admin: adminAddress,
        inbound: inboundAddress,
        outbound: outboundAddress,
      }, deps);
      sidecar.ready = true;
      return sidecar;
    } catch (error) {
      await Promise.all([inbound?.drain(0), outbound?.drain(0), admin.close()]);
      await Promise.all(holder.current.clusters.map((c) => c.destroy()));
      throw error;
    }
  }

  /**
   * Runs new requests on `config` (routes, clusters, filters, the app port); requests in flight
   * finish on the snapshot they started with. Clusters whose config did not change carry over
   * with their connections. The inbound mTLS mode applies at once: connections of a kind the new
   * mode refuses are closed (plaintext under STRICT: new ones at once, existing ones after their
   * requests in flight). Listener addresses and limits stay those the sidecar started with. The
   * filters `config` names must already be loaded (`loadFilters`).
   */
  reconfigure(config: SidecarConfig): void {
    this.holder.replace(buildSnapshot(config, this.deps, this.holder.current));
  }

  /** Stops accepting, lets requests in flight finish up to the configured deadline, then closes. */
  async drain(): Promise<void> {
    this.ready = false;
    const deadlineMs = this.holder.current.config.drain.deadlineMs;
    await Promise.all([this.inbound?.drain(deadlineMs), this.outbound?.drain(deadlineMs)]);
    await Promise.all(this.holder.current.clusters.map((c) => c.destroy()));
    await this.admin.close();
  }
}

/** Every filter a config names, so their modules are loaded before a snapshot is built. */
function filterNames(config: SidecarConfig): string[] {
  return [...(config.inbound?.filters ?? []), ...(config.outbound?.filters ?? [])].map((filter) => filter.name);
}
