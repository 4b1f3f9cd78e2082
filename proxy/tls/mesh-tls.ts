// TLS settings for mesh listeners and upstream connections, built from a WorkloadIdentity.
// Inbound: client certificate required and verified against the trust bundle, ALPN h2 and
// http/1.1, TLS 1.2 or 1.3 (1.3 is negotiated whenever the peer offers it). Outbound: the same
// bundle, plus the check that the server is the expected SPIFFE ID.
import type { ConnectionOptions, Server as TlsServer, TlsOptions } from 'node:tls';
import { expectServerId } from './peer-identity.js';
import type { WorkloadIdentity } from './workload-identity.js';

export const MESH_ALPN = ['h2', 'http/1.1'];

export function inboundTlsOptions(identity: WorkloadIdentity, alpn: string[] = MESH_ALPN): TlsOptions {
  return { ...identity.secureContextOptions(), requestCert: true, rejectUnauthorized: true, ALPNProtocols: alpn };
}

/**
 * Keeps a listening TLS server on the identity's current certificate: new connections use a new
 * certificate at once, established connections keep theirs.
 */
export function followIdentity(server: TlsServer, identity: WorkloadIdentity): () => void {
  const update = (): void => server.setSecureContext(identity.secureContextOptions());
  identity.on('updated', update);
  return () => identity.off('updated', update);
}

export function outboundTlsOptions(
  identity: WorkloadIdentity,
  expectedServerId: string,
  alpn: string[] = MESH_ALPN,
): ConnectionOptions {
  return {
    secureContext: identity.secureContext(),
    rejectUnauthorized: true,
    checkServerIdentity: expectServerId(expectedServerId),
    ALPNProtocols: alpn,
    // Mesh peers are checked by SPIFFE ID, not by host name; the SNI names the expected workload.
    servername: 'outbound.weft.mesh',
  };
}
