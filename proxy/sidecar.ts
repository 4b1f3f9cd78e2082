// One sidecar: a data path built from the config, the inbound and outbound listeners, the admin
// listener, metrics and access log. It either starts whole or not at all; a new config is built
// whole beside the running data path, then swapped in.
import type { AddressInfo } from 'node:net';
import type { SidecarConfig } from './config/types.js';
import { AdminListener } from './listeners/admin-listener.js';
import { HttpListener } from './listeners/http-listener.js';
import { buildDataPath, DataPathHolder, type DataPath, type DataPathDeps } from './runtime/snapshot.js';
import { loadFilters } from './filters/registry.js';
import { AccessLog } from './telemetry/access-log.js';
import { LogLines } from './telemetry/log-lines.js';
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
  #addresses: SidecarAddresses | undefined;

  private constructor(
    readonly holder: DataPathHolder,
    readonly metrics: SidecarMetrics,
    private readonly inbound: HttpListener | undefined,
    private readonly outbound: HttpListener | undefined,
    private readonly admin: AdminListener,
    private readonly deps: DataPathDeps,
  ) {}

  /** Builds and listens: the sidecar either starts whole or not at all. */
  static async start(config: SidecarConfig, options: SidecarOptions = {}): Promise<Sidecar> {
    const sidecar = await Sidecar.build(config, options);
    await sidecar.listen();
    return sidecar;
  }

  /** Everything but the sockets: throws (a DataPathBuildError naming the part) if `config` cannot be built. */
  static async build(config: SidecarConfig, options: SidecarOptions = {}): Promise<Sidecar> {
    const security = options.security ?? plaintext;
    const metrics = new SidecarMetrics();
    const accessLog = new AccessLog(config.accessLog.mode, config.accessLog.sampleRate, new LogLines(options.accessLogOut ?? process.stdout));
    await loadFilters(filterNames(config));
    const deps: DataPathDeps = { metrics, accessLog, security };
    const holder = new DataPathHolder(buildDataPath(config, deps));
    const listener = (direction: 'inbound' | 'outbound') => {
      const at = config[direction];
      if (at === undefined) return undefined;
      return new HttpListener({ direction, address: at.address, port: at.port, limits: config.limits, security, holder });
    };
    const { identity } = options;
    if (identity !== undefined) registerCertificateExpiry(metrics.registry, identity);
    const certs = identity === undefined ? undefined : () => certificateReport(identity);
    const admin: AdminListener = new AdminListener(config.admin.address, config.admin.port, (): boolean => sidecar.ready, holder, metrics, certs);
    const sidecar: Sidecar = new Sidecar(holder, metrics, listener('inbound'), listener('outbound'), admin, deps);
    return sidecar;
  }

  /** Opens the listeners; if one cannot listen, closes everything and throws. */
  async listen(): Promise<SidecarAddresses> {
    try {
      const [inbound, outbound, admin] = await Promise.all([this.inbound?.listen(), this.outbound?.listen(), this.admin.listen()]);
      this.#addresses = { admin, inbound, outbound };
      this.ready = true;
      return this.#addresses;
    } catch (error) {
      await Promise.all([this.inbound?.drain(0), this.outbound?.drain(0), this.admin.close()]);
      await Promise.all(this.holder.current.clusters.map((c) => c.destroy()));
      throw error;
    }
  }

  get addresses(): SidecarAddresses {
    if (this.#addresses === undefined) throw new Error('the sidecar is not listening');
    return this.#addresses;
  }

  /**
   * Builds a data path for `config` beside the running one, without running it: throws (a
   * DataPathBuildError naming the part) if any part cannot be built. Clusters whose config did
   * not change are shared with the running data path. Listener addresses, limits and TLS stay
   * those the sidecar started with; the inbound mTLS mode applies once installed (connections
   * of a kind the new mode refuses are closed: plaintext under STRICT, new ones at once, existing
   * ones after their requests in flight). The filters `config` names must already be loaded
   * (`loadFilters`).
   */
  buildDataPath(config: SidecarConfig): DataPath {
    return buildDataPath(config, this.deps, this.holder.current);
  }

  /** Runs new requests on `next` (from `buildDataPath`); requests in flight finish on the one they started with. */
  install(next: DataPath): void {
    this.holder.replace(next);
  }

  /** Builds and installs `config` (see `buildDataPath`); throws, keeping the running one, if it cannot be built. */
  reconfigure(config: SidecarConfig): void {
    this.install(this.buildDataPath(config));
  }

  /** Stops accepting, lets requests in flight finish up to the configured deadline, then closes. */
  async drain(): Promise<void> {
    this.ready = false;
    const deadlineMs = this.holder.current.config.drain.deadlineMs;
    await Promise.all([this.inbound?.drain(deadlineMs), this.outbound?.drain(deadlineMs)]);
    await Promise.all(this.holder.current.clusters.map((c) => c.destroy()));
    await this.admin.close();
  }

  /** Writes the queued log lines now (they go out in batches, 50 ms after the first): for a reader of the log now. */
  flushLogs(): void {
    this.deps.accessLog.out.flush();
  }
}

/** Every filter a config names, so their modules are loaded before a snapshot is built. */
function filterNames(config: SidecarConfig): string[] {
  return [...(config.inbound?.filters ?? []), ...(config.outbound?.filters ?? [])].map((filter) => filter.name);
}
