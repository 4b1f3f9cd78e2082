// Who a sidecar is: its announced node, checked against its SPIFFE ID and, over mutual TLS,
// against the certificate it presented. Everything here comes from the network.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { NodeMessage } from '../api/discovery-contract.js';
import type { HostPort } from '../api/resource-types.js';
import { parseWorkloadId, spiffeIdOfSubjectAltName, SpiffeIdError } from '../api/spiffe-id.js';

export interface SidecarNode {
  readonly id: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly workload: string;
  readonly inbound?: HostPort;
  /** The admin listener, on the inbound address's host (the control plane reads only there). */
  readonly admin?: HostPort;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** How the server learns the authenticated identity of a stream's peer, if the transport has one. */
export type PeerSpiffeId = (call: ServerDuplexStream<unknown, unknown>) => string | undefined;

/** Over mutual TLS: the SPIFFE ID of the client certificate (grpc-js shows only verified ones). */
export const tlsPeerIdentity: PeerSpiffeId = (call) =>
  spiffeIdOfSubjectAltName(call.getAuthContext().sslPeerCertificate?.subjectaltname)?.uri;

function parseHostPort(text: string): HostPort | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):([0-9]{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1]!.replace(/^\[|\]$/g, ''), port } : undefined;
}

/** The node of a first request, or the reason it is refused. */
export function parseNode(node: NodeMessage | null | undefined, authenticated: string | undefined, trustDomain: string): SidecarNode | string {
  if (node === null || node === undefined) return 'the first request must carry the node';
  let id;
  try {
    id = parseWorkloadId(node.id);
  } catch (error) {
    if (error instanceof SpiffeIdError) return `node.id: ${error.message}`;
    throw error;
  }
  if (id.trustDomain !== trustDomain) return `node.id is in trust domain ${id.trustDomain}, not ${trustDomain}`;
  if (!NAME.test(id.namespace) || !NAME.test(id.serviceAccount)) return 'node.id must name a namespace and service account that are resource names';
  if (!NAME.test(node.workload)) return 'node.workload must be a resource name';
  if (node.namespace !== id.namespace) return `node.namespace ${JSON.stringify(node.namespace.slice(0, 64))} is not the namespace of ${node.id}`;
  if (authenticated !== undefined && authenticated !== node.id) return `node.id ${node.id} is not the authenticated identity ${authenticated}`;
  let inbound: HostPort | undefined;
  if (node.inboundAddress !== '') {
    inbound = parseHostPort(node.inboundAddress);
    if (inbound === undefined) return 'node.inbound_address must be host:port';
  }
  let admin: HostPort | undefined;
  if ((node.adminAddress ?? '') !== '') {
    admin = parseHostPort(node.adminAddress!);
    // The dashboard fetches from this address: a sidecar may point it only at its own host.
    if (admin === undefined || inbound === undefined || admin.host !== inbound.host) return 'node.admin_address must be host:port on the host of node.inbound_address';
  }
  return {
    id: node.id,
    trustDomain,
    namespace: id.namespace,
    serviceAccount: id.serviceAccount,
    workload: node.workload,
    ...(inbound === undefined ? {} : { inbound }),
    ...(admin === undefined ? {} : { admin }),
  };
}
