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

/** `host[:port]` normalized, '' for an empty one, or undefined when it is not a valid authority. */
export function normalizeAuthority(hostAndPort: string): string | undefined {
  const length = hostAndPort.length;
  if (length === 0) return '';
  let hostEnd = length;
  let upper = false;
  if (hostAndPort.charCodeAt(0) === 91 /* [ */) {
    hostEnd = hostAndPort.indexOf(']') + 1;
    if (hostEnd === 0 || !IPV6.test(hostAndPort.slice(0, hostEnd))) return undefined;
    upper = true;
  } else {
    // Labels are not empty: no leading dot, no `..` (one trailing dot is the root, removed below).
    let previous = 46; /* . */
    for (let i = 0; i < length; i++) {
      const c = hostAndPort.charCodeAt(i);
      if (c === 58 /* : */) {
        hostEnd = i;
        break;
      }
      if (c >= 128 || nameChar[c] === 0 || (c === 46 && previous === 46)) return undefined;
      if (c >= 65 && c <= 90) upper = true;
      previous = c;
    }
  }
  if (hostEnd === 0) return undefined;
  if (hostEnd < length) {
    if (hostAndPort.charCodeAt(hostEnd) !== 58 /* : */ || !isPort(hostAndPort, hostEnd + 1)) return undefined;
  }
  const trailingDot = hostAndPort.charCodeAt(hostEnd - 1) === 46;
  // Already normal (the common case): the very string, nothing allocated.
  if (hostEnd === length && !trailingDot && !upper) return hostAndPort;
  const host = hostAndPort.slice(0, trailingDot ? hostEnd - 1 : hostEnd);
  return upper ? host.toLowerCase() : host;
}

/** Whether `text` from `start` is a port: 1 to 5 digits, at most 65535. */
function isPort(text: string, start: number): boolean {
  const digits = text.length - start;
  if (digits < 1 || digits > 5) return false;
  let port = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    port = port * 10 + c - 48;
  }
  return port <= 65535;
}
