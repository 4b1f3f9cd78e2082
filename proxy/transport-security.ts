// The seam where TLS plugs into the data path. proxy/tls/ provides an implementation (mesh
// certificates, SPIFFE verification); without one, every listener and cluster is plaintext.
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import type { ClusterConfig } from './config/types.js';

export type Direction = 'inbound' | 'outbound';

export interface TransportSecurity {
  /**
   * TLS server options for a listener (e.g. a `SNICallback` or `secureContext` that follows
   * rotation, `requestCert`), or undefined to serve it in plaintext.
   */
  serverOptions(direction: Direction): TlsOptions | undefined;
  /** TLS client options for connections to a cluster's endpoints, or undefined for plaintext. */
  clientOptions(cluster: ClusterConfig): ConnectionOptions | undefined;
}

export const plaintext: TransportSecurity = {
  serverOptions: () => undefined,
  clientOptions: () => undefined,
};
