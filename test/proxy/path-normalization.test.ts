// The path normalization every request goes through before any decision (proxy/http/
// path-normalization.ts): each row is one input, one mode, one expected result.
import { describe, expect, it } from 'vitest';
import {
  defaultPathNormalization,
  escapedSlashAction,
  normalizePath,
  type EscapedSlashesAction,
  type NormalizedPath,
  type PathNormalizationMode,
  type PathNormalizationOptions,
} from '../../proxy/http/path-normalization.js';

function options(normalization: PathNormalizationMode, escapedSlashesAction?: EscapedSlashesAction): PathNormalizationOptions {
  return { normalization, forwardOriginalPath: false, ...(escapedSlashesAction === undefined ? {} : { escapedSlashesAction }) };
}

const merge = options('MERGE_SLASHES');
const base = options('BASE');
const none = options('NONE');
const decode = options('DECODE_AND_MERGE_SLASHES');

function forwarded(path: string): NormalizedPath {
  return { kind: 'forward', path };
}

const rejected = (reason: string): NormalizedPath => ({ kind: 'reject', reason });

describe('normalizePath', () => {
  const cases: [string, PathNormalizationOptions, string, NormalizedPath][] = [
    // Already normal: returned as is.
    ['plain path', merge, '/orders/admin', forwarded('/orders/admin')],
    ['root', merge, '/', forwarded('/')],
    ['trailing slash kept', merge, '/orders/', forwarded('/orders/')],
    ['query untouched', merge, '/a?x=/../%2e%2E&y=%zz', forwarded('/a?x=/../%2e%2E&y=%zz')],
    ['dots inside a segment are not dot segments', merge, '/a/.b/..c/d.', forwarded('/a/.b/..c/d.')],
    ['path parameters kept as Envoy does', merge, '/orders;jsessionid=1/admin', forwarded('/orders;jsessionid=1/admin')],
    // Dot segments (CVE-2019-9901).
    ['./ removed', merge, '/./orders/admin', forwarded('/orders/admin')],
    ['../ removed', merge, '/x/../orders/admin', forwarded('/orders/admin')],
    ['.. above the root stays at the root', merge, '/../../orders', forwarded('/orders')],
    ['trailing . keeps the slash', merge, '/orders/.', forwarded('/orders/')],
    ['trailing .. keeps the slash', merge, '/orders/admin/..', forwarded('/orders/')],
    ['only dots', merge, '/..', forwarded('/')],
    ['encoded dots are dots', merge, '/x/%2e%2e/orders/admin', forwarded('/orders/admin')],
    ['mixed encoded dot', merge, '/x/.%2E/orders', forwarded('/orders')],
    ['encoded single dot', merge, '/%2e/orders', forwarded('/orders')],
    // Unreserved characters decoded, other escapes upper-cased.
    ['unreserved decoded', merge, '/%61%62%63/%7E%2D%5F%30', forwarded('/abc/~-_0')],
    ['reserved kept, hex upper-cased', merge, '/a%3fb/%3a%40%20', forwarded('/a%3Fb/%3A%40%20')],
    ['no double decoding', merge, '/%252e%252e/admin', forwarded('/%252e%252e/admin')],
    ['UTF-8 escapes kept', merge, '/caf%c3%a9', forwarded('/caf%C3%A9')],
    // Slashes (CVE-2021-31920): merged, backslashes as slashes.
    ['merged', merge, '//orders///admin', forwarded('/orders/admin')],
    ['BASE does not merge', base, '/orders//admin', forwarded('/orders//admin')],
    ['BASE removes dot segments over empty segments', base, '/a//../b', forwarded('/a/b')],
    ['backslash is a slash', merge, '/orders\\admin', forwarded('/orders/admin')],
    ['backslash dot-dot', merge, '/x\\..\\orders', forwarded('/orders')],
    ['characters WHATWG URL encodes are encoded', merge, '/a"b<c>d^e`f{g|h}', forwarded('/a%22b%3Cc%3Ed%5Ee%60f%7Bg%7Ch%7D')],
    // Escaped slashes by action.
    ['%2F kept, upper-cased', merge, '/orders%2fadmin', forwarded('/orders%2Fadmin')],
    ['%5C kept, upper-cased', merge, '/orders%5cadmin', forwarded('/orders%5Cadmin')],
    ['kept %2F is not a segment for dots', merge, '/a/..%2Fadmin', forwarded('/a/..%2Fadmin')],
    ['REJECT_REQUEST', options('MERGE_SLASHES', 'REJECT_REQUEST'), '/orders%2Fadmin', rejected('request path has an escaped slash or backslash')],
    ['UNESCAPE_AND_FORWARD', options('MERGE_SLASHES', 'UNESCAPE_AND_FORWARD'), '/orders%2Fadmin', forwarded('/orders/admin')],
    ['UNESCAPE_AND_FORWARD then dot segments', options('MERGE_SLASHES', 'UNESCAPE_AND_FORWARD'), '/a/..%2F..%5Corders', forwarded('/orders')],
    ['DECODE_AND_MERGE_SLASHES unescapes', decode, '/orders%2F%2Fadmin', forwarded('/orders/admin')],
    ['DECODE_AND_MERGE_SLASHES with REJECT_REQUEST', options('DECODE_AND_MERGE_SLASHES', 'REJECT_REQUEST'), '/a%2Fb', rejected('request path has an escaped slash or backslash')],
    ['UNESCAPE_AND_REDIRECT', options('MERGE_SLASHES', 'UNESCAPE_AND_REDIRECT'), '/orders%2Fadmin?x=1', { kind: 'redirect', location: '/orders/admin?x=1' }],
    ['UNESCAPE_AND_REDIRECT never to another origin', options('BASE', 'UNESCAPE_AND_REDIRECT'), '/%2Fevil.example/x', { kind: 'redirect', location: '/evil.example/x' }],
    ['UNESCAPE_AND_REDIRECT without escaped slashes forwards', options('MERGE_SLASHES', 'UNESCAPE_AND_REDIRECT'), '/a/../b', forwarded('/b')],
    // NONE: nothing changed, malformed still refused.
    ['NONE keeps dots', none, '/x/../orders', forwarded('/x/../orders')],
    ['NONE keeps escapes', none, '/%2e%2fa', forwarded('/%2e%2fa')],
    ['NONE still refuses %00', none, '/a%00', rejected('request path has an escaped NUL (%00)')],
    // Refused in every mode.
    ['fragment', merge, '/orders#admin', rejected('request target has a fragment')],
    ['fragment in the query', merge, '/orders?a#b', rejected('request target has a fragment')],
    ['invalid escape', merge, '/a%zz', rejected('request path has an invalid percent-encoding')],
    ['truncated escape', merge, '/a%2', rejected('request path has an invalid percent-encoding')],
    ['escape cut by the query', merge, '/a%2?x', rejected('request path has an invalid percent-encoding')],
    ['escaped NUL', merge, '/orders%00/admin', rejected('request path has an escaped NUL (%00)')],
    ['raw NUL', merge, '/orders\0', rejected('request target has a character not allowed in a path')],
    ['raw control', merge, '/orders\t', rejected('request target has a character not allowed in a path')],
    ['raw space', merge, '/orders admin', rejected('request target has a character not allowed in a path')],
    ['raw DEL', merge, '/orders\x7f', rejected('request target has a character not allowed in a path')],
    ['raw non-ASCII', merge, '/café', rejected('request target has a character not allowed in a path')],
    ['control in the query', merge, '/a?x=\x01', rejected('request target has a character not allowed in a query')],
    ['overlong dot %C0%AE', merge, '/x/%c0%ae%c0%ae/admin', rejected('request path has an escaped byte sequence that is not UTF-8')],
    ['overlong 3-byte', merge, '/%e0%80%ae', rejected('request path has an escaped byte sequence that is not UTF-8')],
    ['UTF-16 surrogate', merge, '/%ed%a0%80', rejected('request path has an escaped byte sequence that is not UTF-8')],
    ['above U+10FFFF', merge, '/%f4%90%80%80', rejected('request path has an escaped byte sequence that is not UTF-8')],
    ['lone continuation byte', merge, '/%80', rejected('request path has an escaped byte sequence that is not UTF-8')],
    ['truncated sequence', merge, '/%c3', rejected('request path has an escaped byte sequence that is not UTF-8')],
    ['sequence cut by a literal', merge, '/%c3a', rejected('request path has an escaped byte sequence that is not UTF-8')],
    ['4-byte sequence accepted', merge, '/%f0%9f%98%80', forwarded('/%F0%9F%98%80')],
    ['not a path', merge, '*', rejected('request target is not a path')],
    ['empty', merge, '', rejected('request target is not a path')],
  ];

  it.each(cases)('%s (%s)', (_name, opts, input, expected) => {
    expect(normalizePath(input, opts)).toEqual(expected);
  });

  it('returns the very string it was given when the path is already normal', () => {
    const target = '/orders/admin?x=1';
    const result = normalizePath(target, merge);
    expect(result.kind === 'forward' && result.path).toBe(target);
  });

  it('is idempotent: a normalized path normalizes to itself in every mode', () => {
    const inputs = cases.map(([, , input]) => input);
    for (const opts of [merge, base, decode, options('BASE', 'UNESCAPE_AND_FORWARD')]) {
      for (const input of inputs) {
        const once = normalizePath(input, opts);
        if (once.kind !== 'forward') continue;
        expect(normalizePath(once.path, opts)).toEqual(once);
      }
    }
  });

  it('defaults to MERGE_SLASHES with escaped slashes kept, and DECODE_AND_MERGE_SLASHES unescapes them', () => {
    expect(defaultPathNormalization).toEqual({ normalization: 'MERGE_SLASHES', forwardOriginalPath: false });
    expect(escapedSlashAction(defaultPathNormalization)).toBe('KEEP_UNCHANGED');
    expect(escapedSlashAction(decode)).toBe('UNESCAPE_AND_FORWARD');
    expect(escapedSlashAction(options('DECODE_AND_MERGE_SLASHES', 'KEEP_UNCHANGED'))).toBe('KEEP_UNCHANGED');
  });

  it('gives the path Node URL would serve: what the app sees is what was decided', () => {
    for (const [, opts, input] of cases) {
      const result = normalizePath(input, opts);
      if (result.kind !== 'forward' || opts.normalization === 'NONE') continue;
      const path = result.path.split('?')[0]!;
      expect(new URL(path, 'http://app').pathname).toBe(path);
    }
  });
});
