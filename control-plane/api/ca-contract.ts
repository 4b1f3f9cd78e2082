// The CA's wire contract, loaded from ca.proto at run time with @grpc/proto-loader: the .proto
// file stays the one source of truth (also for peers in other languages), and there is no code
// generation step to keep in sync. The TypeScript types below mirror the messages as
// proto-loader decodes them (camelCase fields, defaults filled in).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface IssueCertificateRequest {
  csrPem: string;
  bootstrapToken: string;
  requestedTtlSeconds: number;
}

export interface TrustBundle {
  trustDomain: string;
  rootCertificatePem: string[];
}

export interface IssueCertificateResponse {
  certificateChainPem: string[];
  trustBundle: TrustBundle;
}

export type GetTrustBundleRequest = Record<string, never>;

export interface CertificateIssuerHandlers extends grpc.UntypedServiceImplementation {
  IssueCertificate: grpc.handleUnaryCall<IssueCertificateRequest, IssueCertificateResponse>;
  GetTrustBundle: grpc.handleUnaryCall<GetTrustBundleRequest, TrustBundle>;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

export interface CertificateIssuerClient extends grpc.Client {
  IssueCertificate: UnaryMethod<IssueCertificateRequest, IssueCertificateResponse>;
  GetTrustBundle: UnaryMethod<GetTrustBundleRequest, TrustBundle>;
}

/**
 * Finds a .proto of this folder from the sources, and from compiled trees (dist/, dist/bench/),
 * where the .proto files are not copied: the nearest control-plane/api/ above this module.
 */
export function contractFile(name: string): string {
  let dir = new URL('./', import.meta.url);
  for (let depth = 0; depth < 6; depth++) {
    const candidate = new URL(depth === 0 ? name : `control-plane/api/${name}`, dir);
    if (existsSync(candidate)) return fileURLToPath(candidate);
    dir = new URL('../', dir);
  }
  throw new Error(`cannot find ${name} beside ${fileURLToPath(import.meta.url)} or in a control-plane/api/ above it`);
}

const definition = protoLoader.loadSync(contractFile('ca.proto'), {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
});
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  weft: { ca: { v1: { CertificateIssuer: grpc.ServiceClientConstructor } } };
};

export const CertificateIssuerService: grpc.ServiceDefinition = loaded.weft.ca.v1.CertificateIssuer.service;

export function createCertificateIssuerClient(
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
): CertificateIssuerClient {
  return new loaded.weft.ca.v1.CertificateIssuer(address, credentials, options) as unknown as CertificateIssuerClient;
}

/**
 * The DNS name in the control plane's certificate besides its SPIFFE ID, for gRPC clients that
 * check a host name (grpcurl, Python): connect with this name as the TLS target name override.
 */
export const CONTROL_PLANE_TLS_NAME = 'weft-control-plane';

/**
 * The control plane's namespace: its identities are reserved. The CA issues no token and no
 * certificate in it except the control plane's own serving certificate, and sidecars take a
 * certificate as the control plane's only when it names an identity of this namespace.
 */
export const CONTROL_PLANE_NAMESPACE = 'weft-system';

/** The identity the control plane serves with; sidecars check it before sending a CSR. */
export function controlPlaneSpiffeId(trustDomain: string): string {
  return `spiffe://${trustDomain}/ns/${CONTROL_PLANE_NAMESPACE}/sa/weft-control-plane`;
}

/** Whether a workload identity is reserved to the control plane. */
export function isControlPlaneIdentity(id: { readonly namespace: string }): boolean {
  return id.namespace === CONTROL_PLANE_NAMESPACE;
}
