// The admin listener, on loopback: /live (the process runs), /ready (listeners up and not
// draining), /metrics (Prometheus text), /config_dump (the config in force, as JSON), /clusters
// (each cluster's endpoints: requests in flight, healthy or ejected), /certs (the mesh
// certificate and trust bundle, when the sidecar has an identity), /decisions (the latest
// denials and dry-run denials, telemetry/recent-decisions.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataPathHolder } from '../runtime/snapshot.js';
import type { SidecarMetrics } from '../telemetry/metrics.js';

export class AdminListener {
  private readonly server: http.Server;

  constructor(
    private readonly address: string,
    private readonly port: number,
    /** Whether the sidecar is serving and not draining. */
    private readonly isReady: () => boolean,
    private readonly holder: DataPathHolder,
    private readonly metrics: SidecarMetrics,
    private readonly certs: (() => unknown) | undefined = undefined,
  ) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(res, 405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/live':
        return this.send(res, 200, 'text/plain', 'live\n');
      case '/ready':
        return this.isReady() ? this.send(res, 200, 'text/plain', 'ready\n') : this.send(res, 503, 'text/plain', 'not ready\n');
      case '/metrics':
        return this.send(res, 200, this.metrics.registry.contentType, await this.metrics.registry.metrics());
      case '/config_dump':
        return this.send(res, 200, 'application/json', JSON.stringify(this.holder.current.config, null, 2) + '\n');
      case '/clusters':
        return this.send(res, 200, 'application/json', JSON.stringify(this.clusters(), null, 2) + '\n');
      case '/decisions':
        return this.send(res, 200, 'application/json', JSON.stringify(this.metrics.recentDecisions.list()) + '\n');
      case '/certs':
        if (this.certs === undefined) return this.send(res, 404, 'text/plain', 'no mesh identity: this sidecar runs without mTLS\n');
        return this.send(res, 200, 'application/json', JSON.stringify(this.certs(), null, 2) + '\n');
      default:
        return this.send(res, 404, 'text/plain', 'not found: try /live, /ready, /metrics, /config_dump, /clusters, /certs, /decisions\n');
    }
  }

  private clusters(): unknown {
    return this.holder.current.clusters.map((cluster) => ({
      name: cluster.name,
      active: cluster.active,
      endpoints: cluster.endpoints.map((e) => ({ address: e.label, active: e.active, healthy: e.healthy })),
    }));
  }

  private send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.address, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
