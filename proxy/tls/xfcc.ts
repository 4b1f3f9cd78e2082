// The `x-forwarded-client-cert` header in Envoy's format, which the sidecar sets on requests it
// passes to its app: `By=<own SPIFFE ID>;Hash=<sha256 of the peer certificate>;URI=<peer ID>`.
// Whatever arrived in this header from the network is removed first, so the app can trust it.
import type { TLSSocket } from 'node:tls';
import { removeHeader } from '../http/headers.js';
import type { PeerIdentity } from '../transport-security.js';
import { certificateHash, peerSpiffeId } from './peer-identity.js';

export const XFCC_HEADER = 'x-forwarded-client-cert';

export function formatXfcc(parts: { by: string; hash: string; uri: string }): string {
  return `By=${parts.by};Hash=${parts.hash};URI=${parts.uri}`;
}

/** The verified peer of a TLS connection as this sidecar (`ownId`) vouches for it. */
export function peerIdentity(ownId: string, socket: TLSSocket): PeerIdentity | undefined {
  const principal = peerSpiffeId(socket);
  if (principal === undefined) return undefined;
  const hash = certificateHash(socket.getPeerCertificate());
  return { principal, forwardedClientCert: formatXfcc({ by: ownId, hash, uri: principal }) };
}

/**
 * For a request going to the app: drops any XFCC from the flat header list and adds the one for
 * `peer`. Returns the request's source principal.
 */
export function vouchForPeer(headers: string[], peer: PeerIdentity | undefined): string | undefined {
  removeHeader(headers, XFCC_HEADER);
  if (peer === undefined) return undefined;
  headers.push(XFCC_HEADER, peer.forwardedClientCert);
  return peer.principal;
}
