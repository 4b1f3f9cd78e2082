// The host a request is for, in the one form asset matching and routing compare: lower-case, port
// stripped, one trailing dot removed (`Orders.:8080` is `orders`). Anything else in a Host or
// authority than a DNS-style name, an IPv4 address or a bracketed IPv6 address (user info,
// percent-escapes, spaces, a port that is not a port) makes the request malformed.

// Per ASCII code: allowed in a host name (letters, digits, `-`, `.`, `_`, `~`).
const nameChar = new Uint8Array(128);
for (const range of ['az', 'AZ', '09']) {
  for (let c = range.charCodeAt(0); c <= range.charCodeAt(1); c++) nameChar[c] = 1;
}
for (const c of '-._~') nameChar[c.charCodeAt(0)] = 1;

const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;
const PORT = /^[0-9]{1,5}$/;

/** `host[:port]` normalized, '' for an empty one, or undefined when it is not a valid authority. */
export function normalizeAuthority(hostAndPort: string): string | undefined {
  if (hostAndPort === '') return '';
  let hostEnd = hostAndPort.length;
  if (hostAndPort.charCodeAt(0) === 91 /* [ */) {
    hostEnd = hostAndPort.indexOf(']') + 1;
    if (hostEnd === 0 || !IPV6.test(hostAndPort.slice(0, hostEnd))) return undefined;
  } else {
    const colon = hostAndPort.indexOf(':');
    if (colon !== -1) hostEnd = colon;
    for (let i = 0; i < hostEnd; i++) {
      const c = hostAndPort.charCodeAt(i);
      if (c >= 128 || nameChar[c] === 0) return undefined;
    }
  }
  if (hostEnd < hostAndPort.length) {
    if (hostAndPort.charCodeAt(hostEnd) !== 58 /* : */) return undefined;
    const port = hostAndPort.slice(hostEnd + 1);
    if (!PORT.test(port) || Number(port) > 65535) return undefined;
  }
  let host = hostAndPort.slice(0, hostEnd);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '' || host.endsWith('.') || host.startsWith('.') || host.includes('..')) return undefined;
  return host.toLowerCase();
}
