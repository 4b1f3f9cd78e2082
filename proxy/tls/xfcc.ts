// The `x-forwarded-client-cert` header in Envoy's format, which the sidecar sets on requests it
// passes to its app: `By=<own SPIFFE ID>;Hash=<sha256 of the peer certificate>;URI=<peer ID>`.
// Whatever arrived in this header from the network is removed first, so the app can trust it.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { certificateHash, peerSpiffeId } from './peer-identity.js';

export const XFCC_HEADER = 'x-forwarded-client-cert';

export function formatXfcc(parts: { by: string; hash: string; uri: string }): string {
  return `By=${parts.by};Hash=${parts.hash};URI=${parts.uri}`;
}

/** The XFCC value for a request that arrived on `socket`, or undefined without a verified peer. */
export function xfccFor(ownId: string, socket: TLSSocket): string | undefined {
  const uri = peerSpiffeId(socket);
  if (uri === undefined) return undefined;
  return formatXfcc({ by: ownId, hash: certificateHash(socket.getPeerCertificate()), uri });
}

/** Replaces any incoming XFCC header with the one this sidecar vouches for (or none). */
export function setXfcc(headers: IncomingHttpHeaders | OutgoingHttpHeaders, value: string | undefined): void {
  delete headers[XFCC_HEADER];
  if (value !== undefined) headers[XFCC_HEADER] = value;
}
