// The seam where TLS plugs into the data path. proxy/tls/ provides an implementation (mesh
// certificates, SPIFFE verification, modes STRICT/PERMISSIVE/DISABLE); without one, every
// listener and cluster is plaintext.
import type { Socket } from 'node:net';
import type { ConnectionOptions, Server as TlsServer, TlsOptions } from 'node:tls';
import type { ClusterConfig } from './config/types.js';

export type Direction = 'inbound' | 'outbound';

/** Who is on the other end of an inbound connection, when mutual TLS proved it. */
export interface PeerIdentity {
  /** The peer's SPIFFE ID: the request's source principal. */
  readonly principal: string;
  /** The `x-forwarded-client-cert` value to pass to the app. */
  readonly forwardedClientCert: string;
}

export interface TransportSecurity {
  /** TLS server options for a listener, or undefined to serve it in plaintext only. */
  serverOptions(direction: Direction): TlsOptions | undefined;
  /** Whether a TLS listener also accepts plaintext on the same port (PERMISSIVE). */
  acceptsPlaintext(direction: Direction): boolean;
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
  acceptsPlaintext: () => true,
  follow: () => () => undefined,
  clientOptions: () => undefined,
  inboundPeer: () => undefined,
};
