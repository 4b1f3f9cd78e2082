// The LoadReporting service of discovery.proto (issue 13) as grpc-js shows it (camelCase fields),
// for both ends: model servers' sidecars report, callers' sidecars receive their pools' load.
import { loadPackageDefinition, type ChannelCredentials, type ChannelOptions, type Client, type ClientDuplexStream, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { contractFile } from './ca-contract.js';
import type { NodeMessage } from './discovery-contract.js';
import type { EngineLoad } from './inference-engines.js';

export interface EndpointLoadMessage {
  endpoint: string;
  waiting: number;
  running: number;
  kvCacheUsage: number;
  inFlightTokens: number;
  activeLoras: string[];
  ageMs: number;
}

export interface LoadReportMessage {
  node?: NodeMessage | null;
  load?: EndpointLoadMessage | null;
}

export interface PoolLoadsMessage {
  pools: { pool: string; endpoints: EndpointLoadMessage[] }[];
}

const definition = loadSync(contractFile('discovery.proto'), { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
const discovery = ((loadPackageDefinition(definition).weft as GrpcObject).discovery as GrpcObject).v1 as GrpcObject;

const LoadReportingClient = discovery.LoadReporting as ServiceClientConstructor;
export const loadReportingService: ServiceDefinition = LoadReportingClient.service;

export interface LoadReportingChannel extends Client {
  streamLoad(): ClientDuplexStream<LoadReportMessage, PoolLoadsMessage>;
}

export function loadReportingChannel(target: string, credentials: ChannelCredentials, options: ChannelOptions): LoadReportingChannel {
  return new LoadReportingClient(target, credentials, options) as unknown as LoadReportingChannel;
}

/** Reports and updates are small; a peer sending more is cut off. */
export const MAX_LOAD_MESSAGE_BYTES = 256 * 1024;
/** Adapter names and counts a report may carry at most; more is refused. */
export const MAX_ACTIVE_LORAS = 64;

const ADAPTER_NAME = /^[A-Za-z0-9._/-]{1,256}$/;
/** A reading older than this is no reading (an age the sender could not have meant). */
const MAX_AGE_MS = 3_600_000;

/** Why an endpoint load from the network cannot be used, or undefined when it can. Both ends check what they receive. */
export function endpointLoadProblem(load: EndpointLoadMessage): string | undefined {
  if (!Number.isFinite(load.kvCacheUsage) || load.kvCacheUsage < 0 || load.kvCacheUsage > 1) return 'kv_cache_usage must be within 0..1';
  if (!Number.isSafeInteger(load.inFlightTokens)) return 'in_flight_tokens is out of range';
  if (load.ageMs > MAX_AGE_MS) return `age_ms must be at most ${MAX_AGE_MS}`;
  if (load.activeLoras.length > MAX_ACTIVE_LORAS || !load.activeLoras.every((name) => ADAPTER_NAME.test(name))) return `active_loras must be at most ${MAX_ACTIVE_LORAS} adapter names`;
  return undefined;
}

/** The load figures both ends compare to tell a changed reading from a repeated one. */
export interface LoadFigures {
  readonly waiting: number;
  readonly running: number;
  readonly kvCacheUsage: number;
  readonly inFlightTokens: number;
  readonly activeLoras: readonly string[];
}

export function sameLoad(a: LoadFigures, b: LoadFigures): boolean {
  return a.waiting === b.waiting && a.running === b.running && a.kvCacheUsage === b.kvCacheUsage && a.inFlightTokens === b.inFlightTokens && a.activeLoras.join(',') === b.activeLoras.join(',');
}

/**
 * What a model server's sidecar reports: its scrape of the engine, and the tokens the requests it
 * passed still cost (0 where no sidecar counts them: a server outside the mesh, scraped by the
 * control plane; its callers count their own).
 */
export function loadFiguresOf(engine: EngineLoad, inFlightTokens = 0): LoadFigures {
  return { waiting: engine.waiting, running: engine.running, kvCacheUsage: engine.kvCacheUsage, inFlightTokens, activeLoras: [...new Set([...engine.runningLoras, ...engine.waitingLoras])] };
}
