// The server side of discovery.proto: one stream per sidecar, xDS state-of-the-world semantics.
// Revisions and endpoint changes are debounced into pushes; a push recomputes every connected
// sidecar's snapshot and sends it only where the version differs from what that sidecar holds.
// Endpoints are the inbound addresses the connected sidecars announce (with other replicas' ones
// from the EndpointDirectory, endpoint-directory.ts), so a control plane that just started (or took over from a dead replica) knows only the sidecars that reconnected so
// far: a sidecar that reconnects holding a snapshot keeps it, and gets nothing new, while a
// service it calls has no endpoint known here, until the others had time to reconnect
// (`RESYNC_HOLD`); otherwise it would be sent a service with no endpoints and fail its requests
// until the callee reconnects. Once every service it calls has an endpoint, the hold ends.
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { SnapshotMessage, SnapshotRequestMessage } from '../api/discovery-contract.js';
import { grpcError } from '../api/error-catalogue.js';
import { CONTROL_PLANE_ERRORS, type ControlPlaneErrorCode } from '../errors.js';
import type { Revision } from '../resources/revision.js';
import type { ControlPlaneMetrics } from './control-plane-metrics.js';
import { ConvergenceTracker } from './convergence-tracker.js';
import { Debouncer } from './debouncer.js';
import { LocalEndpointDirectory, type AnnouncedEndpoint, type EndpointDirectory } from './endpoint-directory.js';
import { parseNode, type PeerSpiffeId, type SidecarNode } from './sidecar-identity.js';
import { onStreamEnd } from './stream-end.js';
import { buildSnapshot, type EndpointIndex, type SidecarSnapshot } from './snapshot-builder.js';

type Call = ServerDuplexStream<SnapshotRequestMessage, SnapshotMessage>;

export interface Nack {
  readonly version: string;
  readonly code: string;
  readonly message: string;
  readonly at: number;
}

export interface SidecarStatus {
  readonly stream: number;
  readonly node: SidecarNode;
  readonly connectedAt: number;
  readonly lastSeenAt: number;
  readonly sentVersion?: string;
  readonly ackedVersion?: string;
  readonly ackedRevision?: number;
  readonly lastNack?: Nack;
}

interface SidecarStream {
  readonly id: number;
  readonly call: Call;
  readonly node: SidecarNode;
  readonly connectedAt: number;
  lastSeenAt: number;
  nonce: number;
  /** The nonce last answered: sidecars repeat their last answer as a heartbeat. */
  answered?: string;
  /** The version the sidecar holds or was last sent: nothing is resent while it stays the same. */
  latestVersion: string;
  /** The snapshot last sent, or the one the sidecar was found to hold already (nothing to send). */
  sent?: SidecarSnapshot;
  ackedVersion?: string;
  ackedRevision?: number;
  lastNack?: Nack;
  /** Set while a reconnected sidecar keeps its own snapshot (see RESYNC_HOLD). */
  hold?: NodeJS.Timeout;
}

export interface DiscoveryOptions {
  readonly revision: () => Revision;
  readonly metrics: ControlPlaneMetrics;
  readonly trustDomain: string;
  /** The authenticated identity of a peer; absent on insecure transports (loopback tests). */
  readonly peerIdentity?: PeerSpiffeId;
  readonly debounceQuietMs?: number;
  readonly debounceMaxMs?: number;
  readonly resyncHold?: { readonly afterConnectMs: number; readonly afterStartMs: number };
  /** Where the endpoints of other replicas come from; by default there are none. */
  readonly endpoints?: EndpointDirectory;
  readonly log?: (line: string) => void;
}

const MAX_NACK_MESSAGE = 4096;

/**
 * How long a reconnecting sidecar that holds a snapshot waits for its first new one: at least
 * `afterConnectMs` after it connected (sidecars that lost the same replica reconnect within
 * their first backoff step, 0.25-0.5 s), and at least `afterStartMs` after this control plane
 * started (sidecars retry at least every 5 s, so all have reconnected by then).
 */
export const RESYNC_HOLD = { afterConnectMs: 2000, afterStartMs: 10_000 } as const;

function nackKey(node: SidecarNode): string {
  return `${node.id} ${node.namespace}/${node.workload}`;
}

export class DiscoveryService {
  readonly #options: DiscoveryOptions;
  readonly #streams = new Map<number, SidecarStream>();
  readonly #debouncer: Debouncer;
  readonly #convergence: ConvergenceTracker;
  readonly #directory: EndpointDirectory;
  /**
   * The last NACK of each sidecar identity and workload, kept across its reconnections: a
   * version it refused is never taken as held, and the NACK stays in status until it ACKs.
   */
  readonly #nacks = new Map<string, Nack>();
  #nextStream = 1;
  #nonceSeed = Math.floor(Math.random() * 1e9);
  readonly #startedAt = Date.now();

  constructor(options: DiscoveryOptions) {
    this.#options = options;
    this.#directory = options.endpoints ?? new LocalEndpointDirectory();
    this.#debouncer = new Debouncer(options.debounceQuietMs ?? 30, options.debounceMaxMs ?? 200, () => this.#push());
    this.#convergence = new ConvergenceTracker((ms) => options.metrics.convergence.observe(ms / 1000));
  }

  handlers(): UntypedServiceImplementation {
    return { streamSnapshots: (call: Call) => this.#open(call) };
  }

  /** A new revision or endpoint set: push after the debounce window. */
  changed(): void {
    this.#debouncer.trigger();
  }

  status(): SidecarStatus[] {
    return [...this.#streams.values()].map((s) => ({
      stream: s.id,
      node: s.node,
      connectedAt: s.connectedAt,
      lastSeenAt: s.lastSeenAt,
      ...(s.sent === undefined ? {} : { sentVersion: s.sent.version }),
      ...(s.ackedVersion === undefined ? {} : { ackedVersion: s.ackedVersion, ackedRevision: s.ackedRevision }),
      ...(s.lastNack === undefined ? {} : { lastNack: s.lastNack }),
    }));
  }

  convergence(): ReturnType<ConvergenceTracker['state']> {
    return this.#convergence.state();
  }

  close(): void {
    this.#debouncer.cancel();
    for (const stream of this.#streams.values()) {
      clearTimeout(stream.hold);
      stream.call.end();
    }
  }

  #refuse(call: Call, code: ControlPlaneErrorCode, message: string): void {
    this.#options.log?.(`discovery: refused stream from ${call.getPeer()}: ${message} (${code})`);
    call.emit('error', grpcError(CONTROL_PLANE_ERRORS, code, message));
  }

  #open(call: Call): void {
    let stream: SidecarStream | undefined;
    call.on('data', (request: SnapshotRequestMessage) => {
      if (stream === undefined) {
        stream = this.#register(call, request);
        return;
      }
      this.#answer(stream, request);
    });
    const close = () => {
      clearTimeout(stream?.hold);
      if (stream !== undefined && this.#streams.delete(stream.id)) {
        this.#options.metrics.connected.dec();
        this.#convergence.gone(stream.id);
        if (stream.node.inbound !== undefined) this.changed();
      }
      stream = undefined;
    };
    onStreamEnd(call, close);
  }

  #register(call: Call, request: SnapshotRequestMessage): SidecarStream | undefined {
    const authenticated = this.#options.peerIdentity?.(call as ServerDuplexStream<unknown, unknown>);
    if (this.#options.peerIdentity !== undefined && authenticated === undefined) {
      this.#refuse(call, 'SIDECAR_IDENTITY_MISMATCH', 'the peer presented no SPIFFE identity');
      return undefined;
    }
    const node = parseNode(request.node, authenticated, this.#options.trustDomain);
    if (typeof node === 'string') {
      this.#refuse(call, authenticated !== undefined && node.includes('authenticated') ? 'SIDECAR_IDENTITY_MISMATCH' : 'SIDECAR_REQUEST_INVALID', node);
      return undefined;
    }
    const mismatch = this.#accountMismatch(node);
    if (mismatch !== undefined) {
      this.#refuse(call, 'SIDECAR_IDENTITY_MISMATCH', mismatch);
      return undefined;
    }
    const now = Date.now();
    const nack = this.#nacks.get(nackKey(node));
    // A version it refused is not one it can hold: it is treated as holding nothing.
    const held = request.versionInfo === nack?.version ? '' : request.versionInfo;
    const stream: SidecarStream = {
      id: this.#nextStream++,
      call,
      node,
      connectedAt: now,
      lastSeenAt: now,
      nonce: 0,
      latestVersion: held,
      ...(nack === undefined ? {} : { lastNack: nack }),
    };
    this.#streams.set(stream.id, stream);
    this.#options.metrics.connected.inc();
    const revision = this.#options.revision();
    const snapshot = this.#snapshotFor(stream, new Map(), revision, this.#directory.index(this.#localEndpoints(revision)));
    if (snapshot.version === held) {
      this.#alreadyHolds(stream, snapshot);
    } else if (held !== '' && snapshot.servicesWithoutEndpoints.length > 0) {
      this.#hold(stream, now);
    } else {
      this.#send(stream, snapshot);
    }
    // Callers of this workload learn the new endpoint.
    if (node.inbound !== undefined) this.changed();
    return stream;
  }

  /** The sidecar holds what it would be sent: it is in sync without a push. */
  #alreadyHolds(stream: SidecarStream, snapshot: SidecarSnapshot): void {
    stream.sent = snapshot;
    stream.latestVersion = snapshot.version;
    stream.ackedVersion = snapshot.version;
    stream.ackedRevision = snapshot.revision;
    stream.lastNack = undefined;
    this.#nacks.delete(nackKey(stream.node));
  }

  #hold(stream: SidecarStream, now: number): void {
    const { afterConnectMs, afterStartMs } = this.#options.resyncHold ?? RESYNC_HOLD;
    const waitMs = Math.max(afterConnectMs, this.#startedAt + afterStartMs - now);
    this.#options.log?.(`discovery: ${stream.node.id} reconnected with version ${stream.latestVersion}; it keeps it ${waitMs} ms while other sidecars reconnect`);
    stream.hold = setTimeout(() => {
      stream.hold = undefined;
      this.changed();
    }, waitMs);
  }

  /** A Workload served by a sidecar must name the sidecar's service account. */
  #accountMismatch(node: SidecarNode): string | undefined {
    const workload = this.#options.revision().resources.get(`Workload/${node.namespace}/${node.workload}`)?.resource;
    if (workload?.kind !== 'Workload' || workload.spec.serviceAccount === node.serviceAccount) return undefined;
    return `workload ${node.namespace}/${node.workload} runs as service account ${workload.spec.serviceAccount}, not ${node.serviceAccount}`;
  }

  /** Only a sidecar whose identity is the one its Workload runs as may be one of its endpoints. */
  #servesItsWorkload(node: SidecarNode, revision: Revision): boolean {
    const workload = revision.resources.get(`Workload/${node.namespace}/${node.workload}`)?.resource;
    return workload?.kind === 'Workload' && workload.spec.serviceAccount === node.serviceAccount;
  }

  #answer(stream: SidecarStream, request: SnapshotRequestMessage): void {
    stream.lastSeenAt = Date.now();
    const sent = stream.sent;
    if (sent === undefined || request.responseNonce !== this.#nonceOf(stream)) return; // stale
    if (stream.answered === request.responseNonce) return; // a heartbeat
    stream.answered = request.responseNonce;
    const error = request.errorDetail;
    if (error !== null && error !== undefined && (error.code !== '' || error.message !== '')) {
      stream.lastNack = {
        version: sent.version,
        code: error.code.slice(0, 128),
        message: error.message.slice(0, MAX_NACK_MESSAGE),
        at: Date.now(),
      };
      this.#nacks.set(nackKey(stream.node), stream.lastNack);
      this.#options.metrics.nacks.inc();
      this.#convergence.nacked(sent.revision);
      this.#options.log?.(`discovery: ${stream.node.id} refused version ${sent.version}: ${stream.lastNack.message}`);
      return;
    }
    if (request.versionInfo !== sent.version) return;
    stream.ackedVersion = sent.version;
    stream.ackedRevision = sent.revision;
    stream.lastNack = undefined;
    this.#nacks.delete(nackKey(stream.node));
    this.#convergence.acked(stream.id, sent.revision);
  }

  #nonceOf(stream: SidecarStream): string {
    return `${this.#nonceSeed}-${stream.id}-${stream.nonce}`;
  }

  /** Sidecars of one workload share a snapshot: computed once per push through `cache`. */
  #snapshotFor(stream: SidecarStream, cache: Map<string, SidecarSnapshot>, revision: Revision, endpoints: EndpointIndex): SidecarSnapshot {
    const key = `${stream.node.namespace}/${stream.node.workload}`;
    let snapshot = cache.get(key);
    if (snapshot === undefined) {
      snapshot = buildSnapshot(revision, stream.node.workload, stream.node.namespace, endpoints);
      cache.set(key, snapshot);
    }
    return snapshot;
  }

  /** The inbound addresses announced by the sidecars connected here that serve their Workload. */
  #localEndpoints(revision: Revision): AnnouncedEndpoint[] {
    const local: AnnouncedEndpoint[] = [];
    for (const { node } of this.#streams.values()) {
      if (node.inbound !== undefined && this.#servesItsWorkload(node, revision)) local.push({ namespace: node.namespace, workload: node.workload, address: node.inbound.host, port: node.inbound.port });
    }
    return local;
  }

  #send(stream: SidecarStream, snapshot: SidecarSnapshot): void {
    stream.nonce += 1;
    stream.sent = snapshot;
    stream.latestVersion = snapshot.version;
    stream.call.write({
      versionInfo: snapshot.version,
      nonce: this.#nonceOf(stream),
      revision: snapshot.revision,
      resources: snapshot.documents.map((document) => ({ document: Buffer.from(document) })),
    });
    this.#options.metrics.pushes.inc();
  }

  #push(): void {
    const started = process.hrtime.bigint();
    const revision = this.#options.revision();
    this.#options.metrics.revision.set(revision.number);
    const cache = new Map<string, SidecarSnapshot>();
    // Streams the new revision refuses go first, so that this push already withdraws their endpoints.
    for (const stream of [...this.#streams.values()]) {
      const mismatch = this.#accountMismatch(stream.node);
      if (mismatch === undefined) continue;
      this.#streams.delete(stream.id);
      this.#options.metrics.connected.dec();
      this.#convergence.gone(stream.id);
      this.#refuse(stream.call, 'SIDECAR_IDENTITY_MISMATCH', mismatch);
    }
    const local = this.#localEndpoints(revision);
    this.#directory.publish(local);
    const endpoints = this.#directory.index(local);
    const sentTo: number[] = [];
    for (const stream of this.#streams.values()) {
      const snapshot = this.#snapshotFor(stream, cache, revision, endpoints);
      if (stream.hold !== undefined) {
        if (snapshot.servicesWithoutEndpoints.length > 0) continue;
        clearTimeout(stream.hold);
        stream.hold = undefined;
      }
      if (snapshot.version === stream.latestVersion) {
        // A sidecar released from its resync hold may already hold what it would be sent.
        if (stream.sent === undefined) this.#alreadyHolds(stream, snapshot);
        continue;
      }
      this.#send(stream, snapshot);
      sentTo.push(stream.id);
    }
    this.#convergence.pushed(revision.number, revision.createdAt, sentTo);
    if (sentTo.length > 0) this.#options.metrics.pushDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }
}
