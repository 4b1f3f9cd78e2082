// The sidecar's client of the CA's issuing API. It checks the CA server by the trust bundle and
// by its SPIFFE ID (not by host name), and proves the sidecar's identity with a bootstrap token
// or, when renewing, with the current certificate as TLS client certificate.
import * as grpc from '@grpc/grpc-js';
import {
  CONTROL_PLANE_NAMESPACE,
  CONTROL_PLANE_TLS_NAME,
  createCertificateIssuerClient,
  isControlPlaneIdentity,
  type IssueCertificateResponse,
  type TrustBundle,
} from '../../control-plane/api/ca-contract.js';
import { parseWorkloadId, spiffeIdOfSubjectAltName } from '../../control-plane/api/spiffe-id.js';

export interface CaEndpoint {
  /** host:port of the control plane's TLS port. */
  readonly address: string;
  /** The SPIFFE ID the CA server must present: one of the control plane's namespace. */
  readonly serverSpiffeId: string;
}

export type CaCredential =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'certificate'; readonly privateKeyPem: string; readonly chainPems: readonly string[] };

export class CaRequestError extends Error {
  constructor(
    readonly grpcCode: number,
    details: string,
  ) {
    super(`the CA refused or could not be reached (${grpc.status[grpcCode] ?? grpcCode}): ${details}`);
    this.name = 'CaRequestError';
  }
}

const REQUEST_DEADLINE_MS = 10_000;

function isReservedId(id: string): boolean {
  try {
    return isControlPlaneIdentity(parseWorkloadId(id));
  } catch {
    return false;
  }
}

/**
 * gRPC credentials for the control plane's TLS port: the server checked by the bundle and its
 * SPIFFE ID, the client proven by its certificate (or by nothing, with a bootstrap token).
 */
export function controlPlaneCredentials(endpoint: CaEndpoint, trustBundlePems: readonly string[], credential: CaCredential): grpc.ChannelCredentials {
  const checkServerIdentity = (_host: string, cert: { subjectaltname?: string }): Error | undefined => {
    const id = spiffeIdOfSubjectAltName(cert.subjectaltname)?.uri;
    if (id !== endpoint.serverSpiffeId) return new Error(`the CA server presented ${id ?? 'no SPIFFE ID'}, expected ${endpoint.serverSpiffeId}`);
    // A workload certificate is never taken for the control plane, whatever was configured.
    return isReservedId(id) ? undefined : new Error(`the CA server presented ${id}, which is not an identity of the control plane's namespace ${CONTROL_PLANE_NAMESPACE}`);
  };
  const roots = Buffer.from(trustBundlePems.join(''));
  return credential.kind === 'certificate'
    ? grpc.credentials.createSsl(roots, Buffer.from(credential.privateKeyPem), Buffer.from(credential.chainPems.join('')), { checkServerIdentity })
    : grpc.credentials.createSsl(roots, null, null, { checkServerIdentity });
}

function unary<Res>(
  endpoint: CaEndpoint,
  trustBundlePems: readonly string[],
  credential: CaCredential,
  call: (client: ReturnType<typeof createCertificateIssuerClient>, deadline: Date, callback: grpc.requestCallback<Res>) => void,
): Promise<Res> {
  // The server is checked by SPIFFE ID; a fixed TLS server name keeps IP addresses out of SNI.
  const client = createCertificateIssuerClient(endpoint.address, controlPlaneCredentials(endpoint, trustBundlePems, credential), {
    'grpc.ssl_target_name_override': CONTROL_PLANE_TLS_NAME,
  });
  return new Promise<Res>((resolve, reject) => {
    call(client, new Date(Date.now() + REQUEST_DEADLINE_MS), (error, response) => {
      client.close();
      if (error !== null) reject(new CaRequestError(error.code, error.details));
      else resolve(response as Res);
    });
  });
}

export function requestCertificate(options: {
  endpoint: CaEndpoint;
  trustBundlePems: readonly string[];
  credential: CaCredential;
  csrPem: string;
  requestedTtlSeconds?: number;
}): Promise<IssueCertificateResponse> {
  const request = {
    csrPem: options.csrPem,
    bootstrapToken: options.credential.kind === 'token' ? options.credential.token : '',
    requestedTtlSeconds: options.requestedTtlSeconds ?? 0,
  };
  return unary(options.endpoint, options.trustBundlePems, options.credential, (client, deadline, callback) =>
    client.IssueCertificate(request, new grpc.Metadata(), { deadline }, callback),
  );
}

export function fetchTrustBundle(options: {
  endpoint: CaEndpoint;
  trustBundlePems: readonly string[];
  credential: CaCredential;
}): Promise<TrustBundle> {
  return unary(options.endpoint, options.trustBundlePems, options.credential, (client, deadline, callback) =>
    client.GetTrustBundle({}, new grpc.Metadata(), { deadline }, callback),
  );
}
