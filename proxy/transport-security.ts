// The seam where TLS plugs into the data path. proxy/tls/ provides an implementation (mesh
// certificates, SPIFFE verification, modes STRICT/PERMISSIVE/DISABLE); without one, every
// listener and cluster is plaintext.
import type { Socket } from 'node:net';
import type { ConnectionOptions, Server as TlsServer, TlsOptions } from 'node:tls';
import type { ClusterConfig, SidecarConfig } from './config/types.js';

export type Direction = 'inbound' | 'outbound';

/** Who is on the other end of an inbound connection, when mutual TLS proved it. */
export interface PeerIdentity {
  /** The peer's SPIFFE ID: the request's source principal. */
  readonly principal: string;
  /** The `x-forwarded-client-cert` value to pass to the app. */
  readonly forwardedClientCert: string;
}

export interface TransportSecurity {
  /**
   * TLS server options for a listener, or undefined to serve it in plaintext only. A listener
   * with TLS options tells TLS from plaintext by a connection's first byte, and asks `accepts`.
   */
  serverOptions(direction: Direction): TlsOptions | undefined;
  /**
   * Whether a listener with TLS options takes a connection (mutual TLS or plaintext) under
   * `config`, the config of the snapshot in force: the inbound mTLS mode can change while the
   * sidecar runs, and each new connection and request is checked against the current one.
   */
  accepts(direction: Direction, config: SidecarConfig, encrypted: boolean): boolean;
  /** Keeps a TLS listener on the current certificate; returns what stops that. */
  follow(server: TlsServer): () => void;
  /**
   * TLS client options for a cluster's endpoints, or undefined for plaintext. Called for every
   * new connection, so a rotated certificate is used at once.
   */
  clientOptions(cluster: ClusterConfig): (() => ConnectionOptions) | undefined;
  /** The verified peer of an inbound connection, if any. */
  inboundPeer(socket: Socket): PeerIdentity | undefined;
}

export const plaintext: TransportSecurity = {
  serverOptions: () => undefined,
  accepts: (_direction, _config, encrypted) => !encrypted,
  follow: () => () => undefined,
  clientOptions: () => undefined,
  inboundPeer: () => undefined,
};
