// Peer identities on mesh TLS connections: the SPIFFE ID in a verified certificate's URI SAN,
// and the check an outbound connection makes that the server is the workload it meant to reach.
import { createHash } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { spiffeIdOfSubjectAltName } from '../../control-plane/api/spiffe-id.js';

/** The peer's SPIFFE ID, only when its certificate chain verified against the trust bundle. */
export function peerSpiffeId(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  return spiffeIdOfSubjectAltName(socket.getPeerCertificate().subjectaltname)?.uri;
}

/** A `checkServerIdentity` for tls.connect: the server must present exactly `expected`. */
export function expectServerId(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const actual = spiffeIdOfSubjectAltName(cert.subjectaltname)?.uri;
    if (actual === expected) return undefined;
    return Object.assign(new Error(`the server presented ${actual ?? 'no SPIFFE ID'}, expected ${expected}`), {
      code: 'ERR_WEFT_PEER_IDENTITY',
    });
  };
}

/** Hex SHA-256 of the certificate's DER encoding, as Envoy puts in `x-forwarded-client-cert`. */
export function certificateHash(cert: PeerCertificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}
