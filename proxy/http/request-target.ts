// Where a request is going: origin-form (`GET /path`, routed by Host) or absolute-form
// (`GET http://host:port/path`, as an app sends to an HTTP_PROXY).

export interface RequestTarget {
  /** Host without port, lower-case ('' when the request names none). */
  readonly authority: string;
  /** Path and query to send upstream. */
  readonly path: string;
  /** Host header to send upstream (absolute-form: the URL's authority). */
  readonly host: string | undefined;
}

/** The request's target, or undefined for a form the sidecar does not forward. */
export function requestTarget(url: string, hostHeader: string | undefined): RequestTarget | undefined {
  if (url.charCodeAt(0) === 47 /* / */) {
    return { authority: hostHeader === undefined ? '' : hostOnly(hostHeader), path: url, host: hostHeader };
  }
  if (url.length > 7 && url.slice(0, 7).toLowerCase() === 'http://') {
    const slash = url.indexOf('/', 7);
    const authority = slash === -1 ? url.slice(7) : url.slice(7, slash);
    if (authority === '' || authority.includes('@')) return undefined;
    return { authority: hostOnly(authority), path: slash === -1 ? '/' : url.slice(slash), host: authority };
  }
  return undefined;
}

function hostOnly(hostAndPort: string): string {
  if (hostAndPort.charCodeAt(0) === 91 /* [ */) {
    const end = hostAndPort.indexOf(']');
    return (end === -1 ? hostAndPort : hostAndPort.slice(0, end + 1)).toLowerCase();
  }
  const colon = hostAndPort.indexOf(':');
  return (colon === -1 ? hostAndPort : hostAndPort.slice(0, colon)).toLowerCase();
}
