// What a request asks for, read once where it enters: its method, and where it is going,
// origin-form (`GET /path`, routed by Host) or absolute-form (`GET http://host:port/path`, as an
// app sends to an HTTP_PROXY), with the path normalized (path-normalization.ts) and the
// authority normalized (authority.ts). Everything after this sees only the result.
import { normalizeAuthority } from './authority.js';
import { normalizePath, type PathNormalizationOptions } from './path-normalization.js';

export interface RequestTarget {
  /** Host without port, lower-case, no trailing dot ('' when the request names none). */
  readonly authority: string;
  /** Normalized path and query: what policies decide on and upstream receives. */
  readonly path: string;
  /** The caller's path and query when normalization changed it. */
  readonly originalPath: string | undefined;
  /** Host header to send upstream (absolute-form: the URL's authority). */
  readonly host: string | undefined;
}

/** Why the target is refused (400), or where UNESCAPE_AND_REDIRECT sends the caller. */
export interface TargetRefusal {
  readonly reason: string;
  readonly location?: string;
}

// RFC 9110 section 9.1: a method is a token; upper-case only, as Istio requires, so that `get`
// cannot pass for `GET` with an app that compares without case.
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/;

export function isValidMethod(method: string): boolean {
  return METHOD.test(method);
}

/** The request's target, or why it is refused. */
export function requestTarget(url: string, hostHeader: string | undefined, options: PathNormalizationOptions): RequestTarget | TargetRefusal {
  const hostAuthority = hostHeader === undefined ? '' : normalizeAuthority(hostHeader);
  if (hostAuthority === undefined) return { reason: 'invalid host header' };
  let authority = hostAuthority;
  let host = hostHeader;
  let rawPath = url;
  if (url.charCodeAt(0) !== 47 /* / */) {
    if (url.length <= 7 || url.slice(0, 7).toLowerCase() !== 'http://') return { reason: 'unsupported request target' };
    const slash = url.indexOf('/', 7);
    host = slash === -1 ? url.slice(7) : url.slice(7, slash);
    const urlAuthority = host.includes('@') ? undefined : normalizeAuthority(host);
    if (urlAuthority === undefined || urlAuthority === '') return { reason: 'invalid authority in the request target' };
    if (hostHeader !== undefined && urlAuthority !== hostAuthority) return { reason: 'host header and request target name different hosts' };
    authority = urlAuthority;
    rawPath = slash === -1 ? '/' : url.slice(slash);
  }
  const normalized = normalizePath(rawPath, options);
  switch (normalized.kind) {
    case 'reject':
      return { reason: normalized.reason };
    case 'redirect':
      return { reason: 'escaped slashes in the path', location: normalized.location };
    default:
      return { authority, path: normalized.path, originalPath: normalized.path === rawPath ? undefined : rawPath, host };
  }
}
