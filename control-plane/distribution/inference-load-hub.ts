// The control plane's side of LoadReporting (discovery.proto, issue 13): each InferencePool's
// load, merged from its members' sidecars' reports and from the control plane's own scrapes of
// the pool's static endpoints (servers outside the mesh, one scrape each whatever the number of
// callers), streamed to the sidecars that call the pool. Every flush interval a caller is sent
// only the endpoints whose reading changed since it was last sent them, or whose copy there is
// older than the refresh interval (so an idle, unchanging endpoint does not turn stale at the
// caller). Readings carry their age, never a timestamp. A member's reading lives as long as its
// stream: once gone, callers see its last one age into staleness.
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { grpcError } from '../api/error-catalogue.js';
import { EngineLoadScraper } from '../api/engine-load-scraper.js';
import { endpointLoadProblem, loadFiguresOf, sameLoad, type EndpointLoadMessage, type LoadReportMessage, type PoolLoadsMessage } from '../api/load-reporting-contract.js';
import { matchesLabels, type Resource } from '../api/resource-types.js';
import { CONTROL_PLANE_ERRORS } from '../errors.js';
import type { Revision } from '../resources/revision.js';
import { parseNode, type PeerSpiffeId, type SidecarNode } from './sidecar-identity.js';
import { onStreamEnd } from './stream-end.js';

type Call = ServerDuplexStream<LoadReportMessage, PoolLoadsMessage>;

type Load = Omit<EndpointLoadMessage, 'endpoint' | 'ageMs'>;

interface Reading {
  load: Load;
  /** performance.now() of the engine reading. */
  readAt: number;
  /** Bumped when the load changes or the refresh interval passed: callers are sent it again. */
  sequence: number;
}

interface LoadStream {
  readonly call: Call;
  readonly node: SidecarNode;
  /** Its own load, when it is a pool member that reported. */
  reading?: Reading;
  /** Per `pool endpoint`: the sequence last sent to it. */
  readonly sent: Map<string, number>;
}

export interface InferenceLoadHubOptions {
  readonly revision: () => Revision;
  readonly trustDomain: string;
  readonly peerIdentity?: PeerSpiffeId;
  /** Callers are sent changes at most this often (default 50 ms). */
  readonly flushMs?: number;
  /** An unchanged reading is sent again this often (default 500 ms, well under the callers' 2 s staleness). */
  readonly refreshMs?: number;
  readonly log?: (line: string) => void;
}

type Pool = Resource<'InferencePool'>;

/** An endpoint as the callers' clusters label it. */
const hostPort = (host: string, port: number): string => `${host}:${port}`;

export class InferenceLoadHub {
  readonly #options: InferenceLoadHubOptions;
  readonly #streams = new Set<LoadStream>();
  /** Static endpoints' scrapers by `namespace/pool host:port`, and their last reading. */
  readonly #scrapers = new Map<string, { scraper: EngineLoadScraper; reading?: Reading }>();
  #flush: NodeJS.Timeout | undefined;
  #sequence = 0;

  constructor(options: InferenceLoadHubOptions) {
    this.#options = options;
  }

  /** Starts scraping and flushing (the store has its first revision). */
  start(): void {
    this.#flush = setInterval(() => this.#send(), this.#options.flushMs ?? 50);
    this.#flush.unref();
    this.changed();
  }

  handlers(): UntypedServiceImplementation {
    return { streamLoad: (call: Call) => this.#open(call) };
  }

  /** A new revision: scrape the static endpoints it names, and only those. */
  changed(): void {
    if (this.#flush === undefined) return;
    const wanted = new Map<string, { url: string; pool: Pool }>();
    for (const pool of this.#pools()) {
      for (const endpoint of this.#staticEndpoints(pool)) wanted.set(`${pool.metadata.namespace}/${pool.metadata.name} ${endpoint}`, { url: `http://${endpoint}${pool.spec.metricsPath}`, pool });
    }
    for (const [key, entry] of this.#scrapers) {
      if (wanted.has(key)) continue;
      entry.scraper.stop();
      this.#scrapers.delete(key);
    }
    for (const [key, { url, pool }] of wanted) {
      if (this.#scrapers.has(key)) continue;
      const scraper = new EngineLoadScraper({ url, engine: pool.spec.engine, intervalMs: pool.spec.picker.scrapeIntervalMs });
      scraper.start();
      this.#scrapers.set(key, { scraper });
    }
  }

  close(): void {
    clearInterval(this.#flush);
    this.#flush = undefined;
    for (const { scraper } of this.#scrapers.values()) scraper.stop();
    this.#scrapers.clear();
    for (const stream of this.#streams) stream.call.end();
    this.#streams.clear();
  }

  #pools(): Pool[] {
    const pools: Pool[] = [];
    for (const { resource } of this.#options.revision().resources.values()) if (resource.kind === 'InferencePool') pools.push(resource);
    return pools;
  }

  #staticEndpoints(pool: Pool): string[] {
    return (pool.spec.endpoints ?? []).flatMap(({ host }) => pool.spec.targetPorts.map((port) => hostPort(host, port)));
  }

  #open(call: Call): void {
    let stream: LoadStream | undefined;
    call.on('data', (message: LoadReportMessage) => {
      if (stream === undefined) {
        stream = this.#register(call, message);
        if (stream === undefined) return;
      }
      if (message.load !== null && message.load !== undefined) this.#report(stream, message.load);
    });
    const close = () => {
      if (stream !== undefined) this.#streams.delete(stream);
      stream = undefined;
    };
    onStreamEnd(call, close);
  }

  #refuse(call: Call, code: 'SIDECAR_IDENTITY_MISMATCH' | 'SIDECAR_REQUEST_INVALID', message: string): undefined {
    this.#options.log?.(`load reporting: refused stream from ${call.getPeer()}: ${message} (${code})`);
    call.emit('error', grpcError(CONTROL_PLANE_ERRORS, code, message));
    return undefined;
  }

  #register(call: Call, message: LoadReportMessage): LoadStream | undefined {
    const authenticated = this.#options.peerIdentity?.(call as ServerDuplexStream<unknown, unknown>);
    if (this.#options.peerIdentity !== undefined && authenticated === undefined) return this.#refuse(call, 'SIDECAR_IDENTITY_MISMATCH', 'the peer presented no SPIFFE identity');
    const node = parseNode(message.node, authenticated, this.#options.trustDomain);
    if (typeof node === 'string') return this.#refuse(call, authenticated !== undefined && node.includes('authenticated') ? 'SIDECAR_IDENTITY_MISMATCH' : 'SIDECAR_REQUEST_INVALID', node);
    const stream: LoadStream = { call, node, sent: new Map() };
    this.#streams.add(stream);
    return stream;
  }

  /** A member's own load: kept only from a sidecar that serves its Workload and announced where callers reach it. */
  #report(stream: LoadStream, load: EndpointLoadMessage): void {
    const problem = endpointLoadProblem(load);
    if (problem !== undefined) {
      this.#streams.delete(stream);
      this.#refuse(stream.call, 'SIDECAR_REQUEST_INVALID', `load: ${problem}`);
      return;
    }
    if (stream.node.inbound === undefined) return;
    const { endpoint: _ignored, ageMs, ...reported } = load;
    stream.reading = this.#next(stream.reading, reported, performance.now() - ageMs);
  }

  /** The reading that replaces `previous`: a new sequence when the load changed or the refresh interval passed. */
  #next(previous: Reading | undefined, load: Load, readAt: number): Reading {
    if (previous !== undefined && readAt <= previous.readAt) return previous;
    const refreshed = previous === undefined || !sameLoad(previous.load, load) || readAt - previous.readAt >= (this.#options.refreshMs ?? 500);
    if (!refreshed) return previous;
    return { load, readAt, sequence: ++this.#sequence };
  }

  /** A stream's node serves its Workload (the one the pool's selector may match) under its own service account. */
  #servesWorkload(node: SidecarNode, revision: Revision): Resource<'Workload'> | undefined {
    const workload = revision.resources.get(`Workload/${node.namespace}/${node.workload}`)?.resource;
    return workload?.kind === 'Workload' && workload.spec.serviceAccount === node.serviceAccount ? workload : undefined;
  }

  /** Each pool's endpoints with a reading: its reporting members and its scraped static endpoints. */
  #poolReadings(revision: Revision): Map<string, Map<string, Reading>> {
    for (const entry of this.#scrapers.values()) {
      const latest = entry.scraper.latest;
      if (latest === undefined) continue;
      const { activeLoras, ...figures } = loadFiguresOf(latest.load);
      entry.reading = this.#next(entry.reading, { ...figures, activeLoras: [...activeLoras] }, latest.at);
    }
    const byPool = new Map<string, Map<string, Reading>>();
    for (const pool of this.#pools()) {
      const poolKey = `${pool.metadata.namespace}/${pool.metadata.name}`;
      const readings = new Map<string, Reading>();
      for (const stream of this.#streams) {
        const { node, reading } = stream;
        if (reading === undefined || node.inbound === undefined || node.namespace !== pool.metadata.namespace || pool.spec.selector === undefined) continue;
        const workload = this.#servesWorkload(node, revision);
        if (workload !== undefined && matchesLabels(pool.spec.selector, workload.metadata.labels)) readings.set(hostPort(node.inbound.host, node.inbound.port), reading);
      }
      for (const endpoint of this.#staticEndpoints(pool)) {
        const reading = this.#scrapers.get(`${poolKey} ${endpoint}`)?.reading;
        if (reading !== undefined) readings.set(endpoint, reading);
      }
      byPool.set(poolKey, readings);
    }
    return byPool;
  }

  #send(): void {
    if (this.#streams.size === 0 && this.#scrapers.size === 0) return;
    const revision = this.#options.revision();
    const byPool = this.#poolReadings(revision);
    const now = performance.now();
    for (const stream of this.#streams) {
      const workload = this.#servesWorkload(stream.node, revision);
      const called = workload?.spec.outbound?.services ?? [];
      const pools: PoolLoadsMessage['pools'] = [];
      for (const pool of called) {
        const readings = byPool.get(`${stream.node.namespace}/${pool}`);
        if (readings === undefined) continue;
        const endpoints: EndpointLoadMessage[] = [];
        for (const [endpoint, reading] of readings) {
          const key = `${pool} ${endpoint}`;
          if (stream.sent.get(key) === reading.sequence) continue;
          stream.sent.set(key, reading.sequence);
          endpoints.push({ endpoint, ...reading.load, ageMs: Math.max(0, Math.round(now - reading.readAt)) });
        }
        if (endpoints.length > 0) pools.push({ pool, endpoints });
      }
      if (pools.length > 0) stream.call.write({ pools });
    }
  }
}
