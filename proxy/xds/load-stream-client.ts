// The sidecar's end of LoadReporting (control-plane/api/discovery.proto, issue 13). It announces
// its node; as a pool member it sends its engine's load whenever a new reading differs from the
// last one sent, or the refresh interval passed; as a caller it hands each endpoint load the
// control plane streams to `received`, dated by the age it carries (no clock is shared). What
// arrives is network input: a malformed load is dropped. A lost stream is retried with jittered
// backoff; meanwhile nothing arrives, and the callers' copies age into staleness.
import type { ChannelCredentials, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import {
  endpointLoadProblem,
  loadReportingChannel,
  MAX_LOAD_MESSAGE_BYTES,
  sameLoad,
  type EndpointLoadMessage,
  type LoadReportingChannel,
  type LoadReportMessage,
  type PoolLoadsMessage,
} from '../../control-plane/api/load-reporting-contract.js';
import type { ReportedLoad } from '../filters/inference/load-table.js';
import { backoffDelay, type BackoffOptions } from '../tls/backoff.js';
import type { SidecarNodeInfo } from './discovery-client.js';

/** This sidecar's own engine reading: the load and its performance.now() time. */
export interface OwnLoad {
  readonly load: ReportedLoad;
  readonly at: number;
}

export interface LoadStreamOptions {
  readonly target: string;
  /** A function is asked again at each (re)connection, e.g. to present a rotated certificate. */
  readonly credentials: ChannelCredentials | (() => ChannelCredentials);
  readonly node: SidecarNodeInfo;
  /** The latest reading of this sidecar's engine, when it is a pool member (read every `reportMs`). */
  readonly ownLoad?: () => OwnLoad | undefined;
  /** One endpoint's load in one of the pools this sidecar calls, engine-read at `at` (performance.now()). */
  readonly received: (pool: string, endpoint: string, load: ReportedLoad, at: number) => void;
  readonly reportMs?: number;
  /** An unchanged reading is sent again this often, so it does not turn stale at the callers. */
  readonly refreshMs?: number;
  readonly backoff?: BackoffOptions;
  readonly channelOptions?: Record<string, string | number>;
  readonly log?: (line: string) => void;
}

type Stream = ClientDuplexStream<LoadReportMessage, PoolLoadsMessage>;

const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 5000 };

export class LoadStreamClient {
  readonly #options: LoadStreamOptions;
  #client: LoadReportingChannel | undefined;
  #stream: Stream | undefined;
  #attempt = 0;
  #retry: NodeJS.Timeout | undefined;
  #reporter: NodeJS.Timeout | undefined;
  /** The reading last sent on the current stream. */
  #sent: OwnLoad | undefined;
  #stopped = false;

  constructor(options: LoadStreamOptions) {
    this.#options = options;
  }

  start(): void {
    this.#connect();
    if (this.#options.ownLoad !== undefined) {
      this.#reporter = setInterval(() => this.#report(), this.#options.reportMs ?? 50);
      this.#reporter.unref();
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    clearInterval(this.#reporter);
    this.#stream?.cancel();
    this.#client?.close();
  }

  #channel(): LoadReportingChannel {
    const { credentials } = this.#options;
    this.#client?.close();
    this.#client = loadReportingChannel(this.#options.target, typeof credentials === 'function' ? credentials() : credentials, {
      'grpc.max_receive_message_length': MAX_LOAD_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      ...this.#options.channelOptions,
    });
    return this.#client;
  }

  #connect(): void {
    if (this.#stopped) return;
    const stream = this.#channel().streamLoad();
    this.#stream = stream;
    this.#sent = undefined;
    stream.on('data', (message: PoolLoadsMessage) => {
      this.#attempt = 0;
      this.#receive(message);
    });
    let ended = false;
    const lost = (error?: ServiceError) => {
      if (ended) return;
      ended = true;
      if (this.#stream === stream) this.#stream = undefined;
      if (this.#stopped) return;
      const delay = backoffDelay(this.#attempt++, this.#options.backoff ?? RECONNECT_BACKOFF);
      this.#options.log?.(`load stream to ${this.#options.target} lost (${error?.details ?? 'ended'}); retrying in ${delay} ms`);
      this.#retry = setTimeout(() => this.#connect(), delay);
    };
    stream.on('error', (error: ServiceError) => lost(error));
    stream.on('end', () => lost());
    const { id, workload, namespace, inboundAddress, adminAddress } = this.#options.node;
    stream.write({ node: { id, workload, namespace, inboundAddress: inboundAddress ?? '', adminAddress: adminAddress ?? '' } });
    this.#report();
  }

  #report(): void {
    const stream = this.#stream;
    const own = this.#options.ownLoad?.();
    if (stream === undefined || stream.destroyed || own === undefined) return;
    const last = this.#sent;
    if (last !== undefined && (own.at <= last.at || (sameLoad(own.load, last.load) && own.at - last.at < (this.#options.refreshMs ?? 500)))) return;
    this.#sent = own;
    const ageMs = Math.max(0, Math.round(performance.now() - own.at));
    stream.write({ load: { endpoint: '', ...own.load, activeLoras: [...own.load.activeLoras], ageMs } });
  }

  #receive(message: PoolLoadsMessage): void {
    const now = performance.now();
    for (const { pool, endpoints } of message.pools) {
      for (const endpoint of endpoints) {
        const load = this.#loadOf(endpoint);
        if (load !== undefined) this.#options.received(pool, endpoint.endpoint, load, now - endpoint.ageMs);
      }
    }
  }

  #loadOf(message: EndpointLoadMessage): ReportedLoad | undefined {
    const problem = endpointLoadProblem(message);
    if (problem !== undefined) {
      this.#options.log?.(`load stream: dropped the load of ${message.endpoint.slice(0, 300)}: ${problem}`);
      return undefined;
    }
    const { waiting, running, kvCacheUsage, inFlightTokens, activeLoras } = message;
    return { waiting, running, kvCacheUsage, inFlightTokens, activeLoras };
  }
}
