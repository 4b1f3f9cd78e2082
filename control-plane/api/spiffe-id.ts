// SPIFFE IDs (https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md) and weft's
// workload form `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`. Shared by the CA
// (what it signs) and the sidecar (what it accepts from peers), so both apply the same rules.

export class SpiffeIdError extends Error {
  readonly exitCode = 2;
  constructor(readonly input: string, reason: string) {
    super(`invalid SPIFFE ID ${JSON.stringify(input.slice(0, 100))}: ${reason}`);
    this.name = 'SpiffeIdError';
  }
}

export interface SpiffeId {
  readonly trustDomain: string;
  /** The path, starting with `/`; empty for the trust domain's own ID. */
  readonly path: string;
  readonly uri: string;
}

export interface WorkloadId extends SpiffeId {
  readonly namespace: string;
  readonly serviceAccount: string;
}

const MAX_ID_LENGTH = 2048;
const MAX_TRUST_DOMAIN_LENGTH = 255;
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;
const SCHEME = 'spiffe://';

export function validateTrustDomain(trustDomain: string, input = trustDomain): void {
  if (trustDomain === '') throw new SpiffeIdError(input, 'trust domain is empty');
  if (trustDomain.length > MAX_TRUST_DOMAIN_LENGTH) {
    throw new SpiffeIdError(input, `trust domain is longer than ${MAX_TRUST_DOMAIN_LENGTH} characters`);
  }
  if (!TRUST_DOMAIN_CHARS.test(trustDomain)) {
    throw new SpiffeIdError(
      input,
      'trust domain may only hold lowercase letters, digits, ".", "-" and "_" (no port, user or percent-encoding)',
    );
  }
}

export function validatePathSegment(segment: string, input = segment): void {
  if (segment === '') throw new SpiffeIdError(input, 'path has an empty segment');
  if (segment === '.' || segment === '..') {
    throw new SpiffeIdError(input, `path segment "${segment}" is not allowed (no relative paths)`);
  }
  if (!SEGMENT_CHARS.test(segment)) {
    throw new SpiffeIdError(input, `path segment "${segment}" may only hold letters, digits, ".", "-" and "_"`);
  }
}

export function parseSpiffeId(input: string): SpiffeId {
  if (input.length > MAX_ID_LENGTH) throw new SpiffeIdError(input, `longer than ${MAX_ID_LENGTH} characters`);
  if (!input.startsWith(SCHEME)) {
    throw new SpiffeIdError(input, 'scheme must be "spiffe://" (lowercase)');
  }
  const rest = input.slice(SCHEME.length);
  if (/[?#]/.test(rest)) throw new SpiffeIdError(input, 'query and fragment are not allowed');
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  validateTrustDomain(trustDomain, input);
  if (path !== '') {
    if (path.endsWith('/')) throw new SpiffeIdError(input, 'path has a trailing "/"');
    for (const segment of path.slice(1).split('/')) validatePathSegment(segment, input);
  }
  return Object.freeze({ trustDomain, path, uri: input });
}

/** Parses an ID of weft's workload form and nothing else. */
export function parseWorkloadId(input: string): WorkloadId {
  const id = parseSpiffeId(input);
  const segments = id.path.split('/').slice(1);
  if (segments.length !== 4 || segments[0] !== 'ns' || segments[2] !== 'sa') {
    throw new SpiffeIdError(input, 'a workload ID has the path /ns/<namespace>/sa/<service-account>');
  }
  return Object.freeze({ ...id, namespace: segments[1] as string, serviceAccount: segments[3] as string });
}

export function workloadId(parts: {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}): WorkloadId {
  return parseWorkloadId(`${SCHEME}${parts.trustDomain}/ns/${parts.namespace}/sa/${parts.serviceAccount}`);
}

/**
 * The SPIFFE ID of a certificate, from its subjectAltName as node:tls and X509Certificate print
 * it (`URI:spiffe://..., DNS:...`). An X.509-SVID has exactly one URI SAN; anything else, and
 * any entry node had to quote (characters no SPIFFE ID may hold), means no identity.
 */
export function spiffeIdOfSubjectAltName(subjectAltName: string | undefined): SpiffeId | undefined {
  if (subjectAltName === undefined) return undefined;
  const uris = subjectAltName
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4));
  if (uris.length !== 1 || (uris[0] as string).startsWith('"')) return undefined;
  try {
    return parseSpiffeId(uris[0] as string);
  } catch {
    return undefined;
  }
}
