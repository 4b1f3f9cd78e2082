// Loads discovery.proto and describes its messages as they appear in grpc-js (camelCase fields),
// for both ends of the stream. Only the decoders on each side turn these into domain types.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

export interface NodeMessage {
  id: string;
  workload: string;
  namespace: string;
  inboundAddress: string;
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

/** The .proto beside this module in the source tree (also found from the compiled dist/ copy). */
function protoPath(): string {
  const candidates = [
    new URL('./discovery.proto', import.meta.url),
    new URL('../../../control-plane/api/discovery.proto', import.meta.url),
  ].map((url) => fileURLToPath(url));
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) throw new Error(`discovery.proto not found (looked in ${candidates.join(', ')})`);
  return found;
}

const definition = loadSync(protoPath(), { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
const discovery = ((loadPackageDefinition(definition).weft as GrpcObject).discovery as GrpcObject).v1 as GrpcObject;

const DiscoveryClient = discovery.Discovery as ServiceClientConstructor;
export const discoveryService: ServiceDefinition = DiscoveryClient.service;

export interface DiscoveryStub extends Client {
  streamSnapshots(): ClientDuplexStream<SnapshotRequestMessage, SnapshotMessage>;
}

export function discoveryStub(target: string, credentials: ChannelCredentials, options: ChannelOptions): DiscoveryStub {
  return new DiscoveryClient(target, credentials, options) as unknown as DiscoveryStub;
}

/** Snapshots carry whole policy sets; the default 4 MiB gRPC cap is too tight for large meshes. */
export const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;
