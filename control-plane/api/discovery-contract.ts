// Loads discovery.proto and describes its messages as they appear in grpc-js (camelCase fields),
// for both ends of the stream. Only the decoders on each side turn these into domain types.
import {
  loadPackageDefinition,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { contractFile } from './ca-contract.js';

export interface NodeMessage {
  id: string;
  workload: string;
  namespace: string;
  inboundAddress: string;
  /** Empty from a sidecar that does not announce it. */
  adminAddress?: string;
}

export interface SnapshotRequestMessage {
  node?: NodeMessage | null;
  versionInfo: string;
  responseNonce: string;
  errorDetail?: { code: string; message: string } | null;
}

export interface SnapshotMessage {
  versionInfo: string;
  nonce: string;
  revision: number;
  resources: { document: Buffer }[];
}

const definition = loadSync(contractFile('discovery.proto'), { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
const discovery = ((loadPackageDefinition(definition).weft as GrpcObject).discovery as GrpcObject).v1 as GrpcObject;

const DiscoveryServiceClient = discovery.Discovery as ServiceClientConstructor;
export const discoveryService: ServiceDefinition = DiscoveryServiceClient.service;

/** A grpc-js client of the Discovery service. */
export interface DiscoveryChannel extends Client {
  streamSnapshots(): ClientDuplexStream<SnapshotRequestMessage, SnapshotMessage>;
}

export function discoveryChannel(target: string, credentials: ChannelCredentials, options: ChannelOptions): DiscoveryChannel {
  return new DiscoveryServiceClient(target, credentials, options) as unknown as DiscoveryChannel;
}

/** Snapshots carry whole policy sets; the default 4 MiB gRPC cap is too tight for large meshes. */
export const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;
