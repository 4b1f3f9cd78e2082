// The sidecar's end of the discovery stream. It announces its node and the version it holds,
// then for each snapshot: decode, build (the caller's step: the whole data path), and only if
// both succeed swap it into the holder, persist it and ACK; otherwise NACK with the error, keep
// serving the previous snapshot and keep reporting its version. A lost stream is retried with jittered exponential backoff.
// At start a persisted snapshot is applied first, so the sidecar serves while the control plane
// is unreachable.
import { EventEmitter } from 'node:events';
import type { ChannelCredentials, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import {
  discoveryChannel,
  MAX_SNAPSHOT_BYTES,
  type DiscoveryChannel,
  type SnapshotMessage,
  type SnapshotRequestMessage,
} from '../../control-plane/api/discovery-contract.js';
import type { DISCOVERY_ERRORS } from '../../control-plane/api/error-catalogue.js';
import { backoffDelay, type BackoffOptions } from '../tls/backoff.js';
import { decodeSnapshot, SnapshotRejectedError, type Snapshot, type SnapshotDocuments } from './snapshot.js';
import { readSnapshotFile, writeSnapshotFile } from './snapshot-file.js';
import type { SnapshotHolder } from './snapshot-holder.js';

export interface SidecarNodeInfo {
  /** spiffe://<trust-domain>/ns/<namespace>/sa/<service-account> */
  readonly id: string;
  readonly workload: string;
  readonly namespace: string;
  readonly inboundAddress?: string;
  /** host:port of the admin listener, for the control plane's dashboard. */
  readonly adminAddress?: string;
}

export interface DiscoveryClientOptions<Compiled> {
  readonly target: string;
  /** A function is asked again at each (re)connection, e.g. to present a rotated certificate. */
  readonly credentials: ChannelCredentials | (() => ChannelCredentials);
  readonly node: SidecarNodeInfo;
  readonly holder: SnapshotHolder<Compiled>;
  /**
   * Builds what the request path needs from a snapshot, whole (e.g. every filter, cluster and
   * balancer), without running it; throwing refuses the snapshot (NACK with the error's message).
   */
  readonly compile: (snapshot: Snapshot) => Compiled | Promise<Compiled>;
  /** Where the last applied snapshot is persisted; absent: not persisted. */
  readonly snapshotFile?: string;
  readonly backoff?: BackoffOptions;
  readonly channelOptions?: Record<string, string | number>;
  readonly log?: (line: string) => void;
}

export interface SidecarDiscoveryEvents {
  applied: [snapshot: Snapshot, source: 'control-plane' | 'disk'];
  rejected: [version: string, error: Error];
  connected: [];
  disconnected: [error: ServiceError | undefined];
}

type Stream = ClientDuplexStream<SnapshotRequestMessage, SnapshotMessage>;

/** The last answer is repeated this often, so the control plane can tell how recently it saw us. */
const HEARTBEAT_MS = 10_000;
const STABLE_STREAM_MS = 10_000;
/**
 * Reconnection is one cheap stream, and the control plane counts on every sidecar being back
 * within 10 s of its start to know all endpoints (RESYNC_HOLD there): retry at least every 5 s.
 */
const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 5000 };

export class SidecarDiscoveryClient<Compiled> extends EventEmitter<SidecarDiscoveryEvents> {
  readonly #options: DiscoveryClientOptions<Compiled>;
  #client: DiscoveryChannel | undefined;
  /** Failed connection attempts since the last stream that got an answer. */
  #attempt = 0;
  #stream: Stream | undefined;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #lastAnswer: SnapshotRequestMessage | undefined;
  #stopped = false;
  /** Snapshots are handled one at a time, in arrival order. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: DiscoveryClientOptions<Compiled>) {
    super();
    this.#options = options;
  }

  #channel(): DiscoveryChannel {
    const { credentials } = this.#options;
    if (this.#client !== undefined && typeof credentials !== 'function') return this.#client;
    this.#client?.close();
    this.#client = discoveryChannel(this.#options.target, typeof credentials === 'function' ? credentials() : credentials, {
      'grpc.max_receive_message_length': MAX_SNAPSHOT_BYTES,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      ...this.#options.channelOptions,
    });
    return this.#client;
  }

  /** Applies the persisted snapshot (if any and valid), then connects. */
  async start(): Promise<void> {
    const { snapshotFile } = this.#options;
    if (snapshotFile !== undefined && this.#options.holder.current() === undefined) {
      try {
        const persisted = await readSnapshotFile(snapshotFile);
        if (persisted !== undefined) await this.#apply(persisted, 'disk');
      } catch (error) {
        this.#options.log?.(`xds: ignoring persisted snapshot ${snapshotFile}: ${(error as Error).message}`);
      }
    }
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    clearInterval(this.#heartbeat);
    this.#stream?.cancel();
    this.#client?.close();
  }

  #connect(): void {
    if (this.#stopped) return;
    const stream: Stream = this.#channel().streamSnapshots();
    this.#stream = stream;
    this.#lastAnswer = undefined;
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => {
      if (this.#lastAnswer !== undefined && !stream.destroyed) stream.write(this.#lastAnswer);
    }, HEARTBEAT_MS).unref();
    let answered = false;
    const openedAt = Date.now();
    stream.on('data', (message: SnapshotMessage) => {
      if (!answered) {
        answered = true;
        this.#attempt = 0;
        this.emit('connected');
      }
      this.#queue = this.#queue.then(() => this.#handle(stream, message));
    });
    let ended = false;
    const lost = (error?: ServiceError) => {
      if (ended) return;
      ended = true;
      if (this.#stream === stream) this.#stream = undefined;
      this.emit('disconnected', error);
      if (this.#stopped) return;
      // A stream that lived a while was a working connection (it may just have had nothing to send).
      if (Date.now() - openedAt > STABLE_STREAM_MS) this.#attempt = 0;
      const delay = backoffDelay(this.#attempt++, this.#options.backoff ?? RECONNECT_BACKOFF);
      this.#options.log?.(`xds: stream to ${this.#options.target} lost (${error?.details ?? 'ended'}); retrying in ${delay} ms`);
      this.#retry = setTimeout(() => this.#connect(), delay);
    };
    stream.on('error', (error: ServiceError) => lost(error));
    stream.on('end', () => lost());
    const { id, workload, namespace, inboundAddress, adminAddress } = this.#options.node;
    stream.write({
      node: { id, workload, namespace, inboundAddress: inboundAddress ?? '', adminAddress: adminAddress ?? '' },
      versionInfo: this.#options.holder.current()?.snapshot.version ?? '',
      responseNonce: '',
    });
  }

  async #handle(stream: Stream, message: SnapshotMessage): Promise<void> {
    const wire: SnapshotDocuments = {
      versionInfo: message.versionInfo,
      revision: message.revision,
      documents: message.resources.map((resource) => resource.document.toString('utf8')),
    };
    const held = () => this.#options.holder.current()?.snapshot.version ?? '';
    try {
      await this.#apply(wire, 'control-plane');
    } catch (error) {
      const reason = error instanceof Error ? error : new Error(String(error));
      this.#options.log?.(`xds: refused snapshot ${message.versionInfo}: ${reason.message}`);
      this.emit('rejected', message.versionInfo, reason);
      this.#answer(stream, { versionInfo: held(), responseNonce: message.nonce, errorDetail: { code: 'SNAPSHOT_REJECTED' satisfies keyof typeof DISCOVERY_ERRORS, message: reason.message } });
      return;
    }
    this.#answer(stream, { versionInfo: held(), responseNonce: message.nonce });
  }

  #answer(stream: Stream, answer: SnapshotRequestMessage): void {
    if (stream.destroyed) return;
    this.#lastAnswer = answer;
    stream.write(answer);
  }

  /** Decode, build, swap, persist: the holder changes only if decode and build succeed. */
  async #apply(wire: SnapshotDocuments, source: 'control-plane' | 'disk'): Promise<void> {
    const { node, holder, compile, snapshotFile } = this.#options;
    const snapshot = decodeSnapshot(wire, node);
    let compiled: Compiled;
    try {
      compiled = await compile(snapshot);
    } catch (error) {
      throw new SnapshotRejectedError([`build: ${error instanceof Error ? error.message : String(error)}`]);
    }
    holder.replace({ snapshot, compiled, appliedAt: Date.now(), source });
    if (snapshotFile !== undefined && source === 'control-plane') {
      try {
        await writeSnapshotFile(snapshotFile, wire);
      } catch (error) {
        // Serving the new snapshot matters more than its copy on disk; the next one retries.
        this.#options.log?.(`xds: cannot persist snapshot to ${snapshotFile}: ${(error as Error).message}`);
      }
    }
    this.emit('applied', snapshot, source);
  }
}
