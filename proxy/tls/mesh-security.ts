// The mesh's TransportSecurity: mutual TLS on the inbound listener by mode (STRICT, PERMISSIVE,
// DISABLE), mTLS origination to clusters that name the SPIFFE ID their endpoints must present.
// The app's side of the sidecar (the outbound listener) stays plaintext on loopback. The inbound
// listener always offers TLS and plaintext on one port; the mode of the snapshot in force says
// which of them it takes, so a mode change (PERMISSIVE -> STRICT) applies at once.
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { ConnectionOptions, Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import { controlPlaneSpiffeId } from '../../control-plane/api/ca-contract.js';
import { splitPemCertificates } from '../../control-plane/api/pem.js';
import { workloadId } from '../../control-plane/api/spiffe-id.js';
import type { ClusterConfig, IdentityConfig, MtlsMode, SidecarConfig } from '../config/types.js';
import type { Direction, PeerIdentity, TransportSecurity } from '../transport-security.js';
import { followIdentity, inboundTlsOptions, MESH_ALPN, outboundTlsOptions } from './mesh-tls.js';
import { WorkloadIdentity } from './workload-identity.js';
import { peerIdentity } from './xfcc.js';

/** The sidecar's listeners and mesh connections offer h2 and http/1.1. */
const SIDECAR_ALPN = MESH_ALPN;

export function inboundMode(config: SidecarConfig): MtlsMode {
  return config.inbound?.mtls ?? (config.identity === undefined ? 'DISABLE' : 'STRICT');
}

export class MeshTransportSecurity implements TransportSecurity {
  // A connection's peer never changes: its certificate is parsed and hashed once, not per request.
  private readonly peers = new WeakMap<Socket, PeerIdentity | null>();

  constructor(readonly identity: WorkloadIdentity) {}

  serverOptions(direction: Direction): TlsOptions | undefined {
    if (direction === 'outbound') return undefined;
    return inboundTlsOptions(this.identity, SIDECAR_ALPN);
  }

  accepts(direction: Direction, config: SidecarConfig, encrypted: boolean): boolean {
    if (direction === 'outbound') return !encrypted;
    const mode = inboundMode(config);
    return mode === 'PERMISSIVE' || encrypted === (mode === 'STRICT');
  }

  follow(server: TlsServer): () => void {
    return followIdentity(server, this.identity);
  }

  clientOptions(cluster: ClusterConfig): (() => ConnectionOptions) | undefined {
    const expected = cluster.spiffeId;
    if (expected === undefined) return undefined;
    return () => outboundTlsOptions(this.identity, expected, SIDECAR_ALPN);
  }

  inboundPeer(socket: Socket): PeerIdentity | undefined {
    const tlsSocket = socket as TLSSocket;
    if (tlsSocket.encrypted !== true) return undefined;
    let peer = this.peers.get(socket);
    if (peer === undefined) {
      peer = peerIdentity(this.identity.current.spiffeId, tlsSocket) ?? null;
      this.peers.set(socket, peer);
    }
    return peer ?? undefined;
  }
}

function configError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

/**
 * Builds the sidecar's identity from its config (trust bundle file, bootstrap token from a file
 * or $WEFT_BOOTSTRAP_TOKEN) and waits for the first certificate.
 */
export async function startMeshSecurity(
  config: SidecarConfig,
  env = process.env,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<MeshTransportSecurity | undefined> {
  if (config.identity === undefined) return undefined;
  const identity = await startWorkloadIdentity(config.identity, config, env, log);
  return new MeshTransportSecurity(identity);
}

/** The identity alone, for a sidecar whose listeners are configured later (by the control plane). */
export async function startWorkloadIdentity(
  settings: IdentityConfig,
  self: { readonly workload: string; readonly namespace: string },
  env = process.env,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<WorkloadIdentity> {
  let bundle: string[];
  try {
    bundle = splitPemCertificates(await readFile(settings.ca.trustBundleFile, 'utf8'));
  } catch (error) {
    throw configError(`identity.ca.trustBundleFile: cannot read ${settings.ca.trustBundleFile} (${(error as Error).message})`);
  }
  if (bundle.length === 0) throw configError(`identity.ca.trustBundleFile: ${settings.ca.trustBundleFile} holds no PEM certificate`);
  let token: string | undefined;
  if (settings.bootstrapTokenFile !== undefined) {
    try {
      token = (await readFile(settings.bootstrapTokenFile, 'utf8')).trim();
    } catch (error) {
      throw configError(`identity.bootstrapTokenFile: cannot read ${settings.bootstrapTokenFile} (${(error as Error).message})`);
    }
  } else {
    token = env.WEFT_BOOTSTRAP_TOKEN?.trim();
  }
  if (token === undefined || token === '') {
    throw configError('identity: no bootstrap token (set identity.bootstrapTokenFile or $WEFT_BOOTSTRAP_TOKEN; mint one with `weft token create`)');
  }
  const identity = new WorkloadIdentity({
    spiffeId: workloadId({ trustDomain: settings.trustDomain, namespace: self.namespace, serviceAccount: settings.serviceAccount ?? self.workload }).uri,
    ca: { address: settings.ca.address, serverSpiffeId: settings.ca.serverSpiffeId ?? controlPlaneSpiffeId(settings.trustDomain) },
    trustBundlePems: bundle,
    bootstrapToken: token,
    requestedTtlSeconds: settings.certificateTtlSeconds,
  });
  identity.on('renewalFailed', (error, { retryInMs }) => log(`weft proxy: certificate request failed, retrying in ${retryInMs} ms: ${error.message}`));
  identity.on('updated', (snapshot) => log(`weft proxy: certificate ${snapshot.leaf.serialNumber} for ${snapshot.spiffeId} until ${snapshot.notAfter.toISOString()}`));
  await identity.start();
  return identity;
}
