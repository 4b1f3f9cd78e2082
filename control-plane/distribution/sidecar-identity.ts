// Who a sidecar is: its announced node, checked against its SPIFFE ID and, over mutual TLS,
// against the certificate it presented. Everything here comes from the network.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { HostPort } from '../api/resource-types.js';
import type { NodeMessage } from '../api/discovery-contract.js';

export interface SidecarNode {
  readonly id: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly workload: string;
  readonly inbound?: HostPort;
}

const SPIFFE_ID = /^spiffe:\/\/([a-z0-9.-]{1,255})\/ns\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/sa\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** How the server learns the authenticated identity of a stream's peer, if the transport has one. */
export type PeerIdentity = (call: ServerDuplexStream<unknown, unknown>) => string | undefined;

/** Over mutual TLS: the URI SAN of the client certificate. */
export const tlsPeerIdentity: PeerIdentity = (call) => {
  const san = call.getAuthContext().sslPeerCertificate?.subjectaltname;
  if (san === undefined) return undefined;
  const uris = san.split(', ').filter((entry) => entry.startsWith('URI:spiffe://'));
  return uris.length === 1 ? uris[0]!.slice('URI:'.length) : undefined;
};

function parseHostPort(text: string): HostPort | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):([0-9]{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1]!.replace(/^\[|\]$/g, ''), port } : undefined;
}

/** The node of a first request, or the reason it is refused. */
export function parseNode(node: NodeMessage | null | undefined, authenticated: string | undefined, trustDomain: string): SidecarNode | string {
  if (node === null || node === undefined) return 'the first request must carry the node';
  const match = SPIFFE_ID.exec(node.id);
  if (match === null) return `node.id ${JSON.stringify(node.id.slice(0, 300))} is not a SPIFFE ID spiffe://<trust-domain>/ns/<ns>/sa/<sa>`;
  if (match[1] !== trustDomain) return `node.id is in trust domain ${match[1]}, not ${trustDomain}`;
  if (!NAME.test(node.workload)) return 'node.workload must be a resource name';
  if (node.namespace !== match[2]) return `node.namespace ${JSON.stringify(node.namespace.slice(0, 64))} is not the namespace of ${node.id}`;
  if (authenticated !== undefined && authenticated !== node.id) return `node.id ${node.id} is not the authenticated identity ${authenticated}`;
  let inbound: HostPort | undefined;
  if (node.inboundAddress !== '') {
    inbound = parseHostPort(node.inboundAddress);
    if (inbound === undefined) return 'node.inbound_address must be host:port';
  }
  return {
    id: node.id,
    trustDomain,
    namespace: match[2]!,
    serviceAccount: match[4]!,
    workload: node.workload,
    ...(inbound === undefined ? {} : { inbound }),
  };
}
