// The one normalization of a request's path, before anything decides on it: the asset matcher,
// the policies' input and the upstream all see its result (Envoy's `normalize_path`,
// `merge_slashes` and `path_with_escaped_slashes_action`; Istio's `pathNormalization`).
// RFC 3986 section 6.2.2: percent-encoded unreserved characters decoded, the hex of every other
// escape upper-cased, dot segments removed (`%2e` is a dot, as WHATWG URL and Envoy read it); a
// literal backslash becomes `/` (as Envoy and WHATWG URL read it); then `//` merged. The query is
// never rewritten. Pure, and allocation-free for a path that is already normal.

/** Istio's MeshConfig `pathNormalization.normalization`. */
export type PathNormalizationMode = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';
/** Envoy's `path_with_escaped_slashes_action` (for `%2F`, `%5C`). */
export type EscapedSlashesAction = 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';

export interface PathNormalizationOptions {
  readonly normalization: PathNormalizationMode;
  /** Absent: UNESCAPE_AND_FORWARD under DECODE_AND_MERGE_SLASHES, else KEEP_UNCHANGED. */
  readonly escapedSlashesAction?: EscapedSlashesAction;
  /** Send the caller's path upstream in `x-envoy-original-path` when normalization changed it. */
  readonly forwardOriginalPath: boolean;
}

export const defaultPathNormalization: PathNormalizationOptions = Object.freeze({
  normalization: 'MERGE_SLASHES',
  forwardOriginalPath: false,
});

export type NormalizedPath =
  /** `path` is the normalized path and query. */
  | { readonly kind: 'forward'; readonly path: string }
  /** UNESCAPE_AND_REDIRECT: the caller is sent to `location` (normalized, slashes unescaped). */
  | { readonly kind: 'redirect'; readonly location: string }
  /** The target is malformed or refused by the options: 400 with `reason`. */
  | { readonly kind: 'reject'; readonly reason: string };

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const PERCENT = 0x25;
const HASH = 0x23;

// Per ASCII code: 0 refused (controls, space, DEL, `#`), 1 kept as is, 2 needs the slow path
// (`%`, `\`, and characters WHATWG URL would percent-encode in a path: `"` `<` `>` `^` `` ` ``
// `{` `|` `}`, encoded here so that the app does not see a different string).
const pathChar = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) pathChar[c] = 1;
pathChar[HASH] = 0;
for (const c of '%\\"<>^`{|}') pathChar[c.charCodeAt(0)] = 2;

function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === DOT || c === 0x5f || c === 0x7e;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

const HEX = '0123456789ABCDEF';

function escape(byte: number): string {
  return `%${HEX[byte >> 4]!}${HEX[byte & 15]!}`;
}

function reject(reason: string): NormalizedPath {
  return { kind: 'reject', reason };
}

/** Whether `path[i]` starts a `.` or `..` segment (after a `/`, up to the next `/` or the end). */
function dotSegmentAt(path: string, i: number, end: number): boolean {
  if (path.charCodeAt(i) !== DOT) return false;
  const next = i + 1 === end ? SLASH : path.charCodeAt(i + 1);
  if (next === SLASH) return true;
  return next === DOT && (i + 2 === end || path.charCodeAt(i + 2) === SLASH);
}

/**
 * Normalizes an origin-form target (`/path?query`). Fragments, invalid or NUL escapes, escapes
 * that are not UTF-8, and characters HTTP does not allow in a target are refused in every mode;
 * NONE changes nothing else.
 */
export function normalizePath(target: string, options: PathNormalizationOptions): NormalizedPath {
  const length = target.length;
  if (length === 0 || target.charCodeAt(0) !== SLASH) return reject('request target is not a path');
  const queryAt = target.indexOf('?');
  const end = queryAt === -1 ? length : queryAt;
  const mode = options.normalization;
  const merge = mode === 'MERGE_SLASHES' || mode === 'DECODE_AND_MERGE_SLASHES';
  let slow = false;
  for (let i = 0; i < end; i++) {
    const c = target.charCodeAt(i);
    const kind = c < 128 ? pathChar[c]! : 0;
    if (kind === 0) return reject(c === HASH ? 'request target has a fragment' : 'request target has a character not allowed in a path');
    if (kind === 2) slow = true;
    else if (c === SLASH && i + 1 < end && ((merge && target.charCodeAt(i + 1) === SLASH) || dotSegmentAt(target, i + 1, end))) slow = true;
  }
  for (let i = end + 1; i < length; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x21 || c >= 0x7f) return reject('request target has a character not allowed in a query');
    if (c === HASH) return reject('request target has a fragment');
  }
  if (slow) {
    const decoded = decodePercent(target, end, mode === 'NONE' ? 'NONE' : escapedSlashAction(options));
    if (typeof decoded !== 'string') return decoded;
    if (mode !== 'NONE') {
      const normal = removeDotSegments(decoded.replaceAll('\\', '/'), merge);
      const query = queryAt === -1 ? '' : target.slice(queryAt);
      if (escapedSlashAction(options) === 'UNESCAPE_AND_REDIRECT' && hasEscapedSlash(target.slice(0, end))) {
        // Never `//host...`: a browser would read that as another origin.
        return { kind: 'redirect', location: normal.replace(/^\/+/, '/') + query };
      }
      return { kind: 'forward', path: normal + query };
    }
  }
  return { kind: 'forward', path: target };
}

/** The action for `%2F`/`%5C` the options give, with Istio's default for DECODE_AND_MERGE_SLASHES. */
export function escapedSlashAction(options: PathNormalizationOptions): EscapedSlashesAction {
  return options.escapedSlashesAction ?? (options.normalization === 'DECODE_AND_MERGE_SLASHES' ? 'UNESCAPE_AND_FORWARD' : 'KEEP_UNCHANGED');
}

function hasEscapedSlash(text: string): boolean {
  let at = text.indexOf('%');
  while (at !== -1) {
    const a = text.charCodeAt(at + 1);
    const b = text.charCodeAt(at + 2) | 0x20;
    if ((a === 0x32 && b === 0x66) || (a === 0x35 && b === 0x63)) return true;
    at = text.indexOf('%', at + 1);
  }
  return false;
}

/**
 * The path part (`target[0, end)`) with escapes checked and normalized: unreserved decoded,
 * hex upper-cased, `%2F`/`%5C` by `action` (NONE: only checked), and the characters WHATWG URL
 * encodes in a path encoded. Escaped bytes above 0x7F must form UTF-8 (an overlong `%C0%AE` is
 * not a dot, it is refused).
 */
function decodePercent(target: string, end: number, action: EscapedSlashesAction | 'NONE'): string | NormalizedPath {
  // What changes is appended to `out` together with the unchanged run before it (`target` from
  // `copied`), so a long path with one escape is not rebuilt a character at a time.
  let out = '';
  let copied = 0;
  let utf8Pending = 0;
  let utf8Min = 0x80;
  let utf8Max = 0xbf;
  for (let i = 0; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c !== PERCENT) {
      if (utf8Pending > 0) return reject('request path has an escaped byte sequence that is not UTF-8');
      if (action !== 'NONE' && pathChar[c] === 2 && c !== BACKSLASH) {
        out += target.slice(copied, i) + escape(c);
        copied = i + 1;
      }
      continue;
    }
    const high = hexValue(target.charCodeAt(i + 1));
    const low = i + 2 < end ? hexValue(target.charCodeAt(i + 2)) : -1;
    if (high < 0 || low < 0) return reject('request path has an invalid percent-encoding');
    const byte = (high << 4) | low;
    if (byte === 0) return reject('request path has an escaped NUL (%00)');
    if (utf8Pending > 0) {
      if (byte < utf8Min || byte > utf8Max) return reject('request path has an escaped byte sequence that is not UTF-8');
      utf8Pending--;
      utf8Min = 0x80;
      utf8Max = 0xbf;
    } else if (byte >= 0x80) {
      // RFC 3629 section 4: lead bytes and the range of the byte after each (no overlongs, no surrogates).
      if (byte >= 0xc2 && byte <= 0xdf) utf8Pending = 1;
      else if (byte >= 0xe0 && byte <= 0xef) {
        utf8Pending = 2;
        if (byte === 0xe0) utf8Min = 0xa0;
        if (byte === 0xed) utf8Max = 0x9f;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        utf8Pending = 3;
        if (byte === 0xf0) utf8Min = 0x90;
        if (byte === 0xf4) utf8Max = 0x8f;
      } else return reject('request path has an escaped byte sequence that is not UTF-8');
    }
    if (action !== 'NONE') {
      let replacement: string;
      if (byte === SLASH || byte === BACKSLASH) {
        if (action === 'REJECT_REQUEST') return reject('request path has an escaped slash or backslash');
        replacement = action === 'KEEP_UNCHANGED' ? escape(byte) : '/';
      } else replacement = isUnreserved(byte) ? String.fromCharCode(byte) : escape(byte);
      out += target.slice(copied, i) + replacement;
      copied = i + 3;
    }
    i += 2;
  }
  if (utf8Pending > 0) return reject('request path has an escaped byte sequence that is not UTF-8');
  return out + target.slice(copied, end);
}

/**
 * RFC 3986 section 5.2.4 on an absolute path, segment by segment (`..` above the root stays at
 * the root); with `merge`, empty segments are dropped too, so `//` becomes `/`. A trailing `/`,
 * or a path ending in a dot segment, keeps its trailing slash.
 */
function removeDotSegments(path: string, merge: boolean): string {
  const segments = path.split('/');
  const kept: string[] = [];
  const last = segments.length - 1;
  let trailingSlash = false;
  for (let i = 1; i <= last; i++) {
    const segment = segments[i]!;
    if (segment === '.' || segment === '..') {
      if (segment === '..') kept.pop();
      if (i === last) trailingSlash = true;
    } else if (segment === '' && (merge || i === last)) {
      if (i === last) trailingSlash = true;
    } else kept.push(segment);
  }
  if (kept.length === 0) return '/';
  const joined = `/${kept.join('/')}`;
  return trailingSlash ? `${joined}/` : joined;
}
