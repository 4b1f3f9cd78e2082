// The edges of path normalization (proxy/http/path-normalization.ts) that the table in
// path-normalization.test.ts does not reach: the bound of every character class, every hex digit
// range, every UTF-8 lead byte and its continuation range, escapes cut short by the query or the
// end, and which inputs take the slow path at all.
import { describe, expect, it } from 'vitest';
import { escapedSlashAction, normalizePath, type EscapedSlashesAction, type NormalizedPath, type PathNormalizationMode } from '../../proxy/http/path-normalization.js';

const opts = (normalization: PathNormalizationMode, escapedSlashesAction?: EscapedSlashesAction) => ({
  normalization,
  forwardOriginalPath: false,
  ...(escapedSlashesAction === undefined ? {} : { escapedSlashesAction }),
});
const merge = opts('MERGE_SLASHES');
const base = opts('BASE');
const none = opts('NONE');
const forwarded = (path: string): NormalizedPath => ({ kind: 'forward', path });
const rejected = (reason: string): NormalizedPath => ({ kind: 'reject', reason });
const notAllowed = rejected('request target has a character not allowed in a path');
const notUtf8 = rejected('request path has an escaped byte sequence that is not UTF-8');
const badEscape = rejected('request path has an invalid percent-encoding');

describe('normalizePath: characters', () => {
  it.each([
    ['space', '/a b'],
    ['a control character', '/a\x01'],
    ['DEL', '/a\x7f'],
    ['the first code above ASCII', '/a\x80'],
    ['a non-ASCII letter', '/caf\u00e9'],
  ])('refuses %s in the path in every mode', (_what, path) => {
    for (const mode of [merge, base, none]) expect(normalizePath(path, mode)).toEqual(notAllowed);
  });

  it('keeps the first and last printable characters as they are', () => {
    expect(normalizePath('/!~', merge)).toEqual(forwarded('/!~'));
    expect(normalizePath('/a?!~', merge)).toEqual(forwarded('/a?!~'));
  });

  it.each([
    ['space', '/a?x y'],
    ['a control character', '/a?\x1f'],
    ['DEL', '/a?\x7f'],
    ['a non-ASCII letter', '/a?\u00e9'],
  ])('refuses %s in the query', (_what, path) => {
    expect(normalizePath(path, merge)).toEqual(rejected('request target has a character not allowed in a query'));
  });

  it('refuses a fragment in the path and in the query, in every mode', () => {
    for (const mode of [merge, none]) {
      expect(normalizePath('/a#b', mode)).toEqual(rejected('request target has a fragment'));
      expect(normalizePath('/a?b#c', mode)).toEqual(rejected('request target has a fragment'));
    }
  });

  it('refuses an empty target and one that is not a path', () => {
    expect(normalizePath('', merge)).toEqual(rejected('request target is not a path'));
    expect(normalizePath('a/b', merge)).toEqual(rejected('request target is not a path'));
    expect(normalizePath('?a', none)).toEqual(rejected('request target is not a path'));
  });

  it('encodes what WHATWG URL encodes, one character at a time, but not under NONE', () => {
    for (const [c, e] of [['"', '%22'], ['<', '%3C'], ['>', '%3E'], ['^', '%5E'], ['`', '%60'], ['{', '%7B'], ['|', '%7C'], ['}', '%7D']]) {
      expect(normalizePath(`/a${c}b`, merge), c).toEqual(forwarded(`/a${e}b`));
      expect(normalizePath(`/a${c}b`, none), c).toEqual(forwarded(`/a${c}b`));
    }
    expect(normalizePath('/a<b>c%41', merge)).toEqual(forwarded('/a%3Cb%3EcA'));
  });

  it('changes nothing but checks escapes under NONE', () => {
    expect(normalizePath('/a/../b//c/%2e/%41%2f\\d?x', none)).toEqual(forwarded('/a/../b//c/%2e/%41%2f\\d?x'));
    expect(normalizePath('/a%zz', none)).toEqual(badEscape);
    expect(normalizePath('/a%00', none)).toEqual(rejected('request path has an escaped NUL (%00)'));
    expect(normalizePath('/a%C0%AE', none)).toEqual(notUtf8);
  });

  it('leaves escaped slashes alone under NONE, whatever escapedSlashesAction says (NONE changes nothing)', () => {
    for (const action of ['REJECT_REQUEST', 'UNESCAPE_AND_FORWARD', 'UNESCAPE_AND_REDIRECT'] as const) {
      expect(normalizePath('/a%2Fb%5c', opts('NONE', action)), action).toEqual(forwarded('/a%2Fb%5c'));
    }
  });
});

describe('normalizePath: escapes', () => {
  it('decodes exactly the unreserved characters, at both ends of each range', () => {
    expect(normalizePath('/%41%5A%61%7A%30%39%2D%2E%5F%7E', merge)).toEqual(forwarded('/AZaz09-._~'));
    expect(normalizePath('/%40%5B%60%7B%2F%3A%2C%2B%21', merge)).toEqual(forwarded('/%40%5B%60%7B%2F%3A%2C%2B%21'));
  });

  it('reads every hex digit, upper and lower case, and nothing else', () => {
    expect(normalizePath('/%3a%3A%3f%3F%5b%5B%2c%7b', merge)).toEqual(forwarded('/%3A%3A%3F%3F%5B%5B%2C%7B'));
    expect(normalizePath('/%30%39%41%46%61%66', merge)).toEqual(forwarded('/09AFaf'));
    for (const bad of ['/%G0', '/%0G', '/%g0', '/%0g', '/%:0', '/%0:', '/%/0', '/%0/', '/%@0', '/%0@', '/%`0', '/%0`']) {
      expect(normalizePath(bad, merge), bad).toEqual(badEscape);
    }
  });

  it('refuses an escape cut short by the end or by the query, and reads one that ends the path', () => {
    expect(normalizePath('/a%', merge)).toEqual(badEscape);
    expect(normalizePath('/a%4', merge)).toEqual(badEscape);
    expect(normalizePath('/a%4?1', merge)).toEqual(badEscape);
    expect(normalizePath('/a%?41', merge)).toEqual(badEscape);
    expect(normalizePath('/a%41', merge)).toEqual(forwarded('/aA'));
    expect(normalizePath('/a%41?%4', merge)).toEqual(forwarded('/aA?%4'));
  });

  it('decodes the escapes of a long path in place, keeping everything between them', () => {
    expect(normalizePath('/one%41two/three%2ffour%3a/five', merge)).toEqual(forwarded('/oneAtwo/three%2Ffour%3A/five'));
  });
});

describe('normalizePath: UTF-8 in escapes', () => {
  it.each([
    ['two bytes, lowest', '%C2%80'],
    ['two bytes, highest', '%DF%BF'],
    ['three bytes after E0, lowest', '%E0%A0%80'],
    ['three bytes after E1', '%E1%80%80'],
    ['three bytes after ED, highest', '%ED%9F%BF'],
    ['three bytes, highest', '%EF%BF%BF'],
    ['four bytes after F0, lowest', '%F0%90%80%80'],
    ['four bytes after F1', '%F1%80%80%80'],
    ['four bytes after F4, highest', '%F4%8F%BF%BF'],
    ['a sequence after one with a raised minimum', '%E0%A0%80%E1%80%80'],
    ['a sequence after one with a lowered maximum', '%ED%9F%BF%E1%BF%BF'],
    ['a sequence after F0', '%F0%90%80%80%E1%80%80'],
    ['a sequence after F4', '%F4%8F%BF%BF%E1%BF%BF'],
  ])('takes %s', (_what, escapes) => {
    expect(normalizePath(`/${escapes}`, merge)).toEqual(forwarded(`/${escapes}`));
  });

  it.each([
    ['a continuation byte alone', '%80'],
    ['the last continuation byte alone', '%BF'],
    ['an overlong lead byte C0', '%C0%AE'],
    ['an overlong lead byte C1', '%C1%BF'],
    ['a lead byte at the end', '%C2'],
    ['a lead byte before a plain character', '%C2a'],
    ['a lead byte before a plain character and a continuation', '%C2a%80'],
    ['a continuation byte as the lead of two more', '%80%80%80'],
    ['an overlong lead byte C0 before two continuations', '%C0%80%80'],
    ['an overlong lead byte C1 before three continuations', '%C1%80%80%80'],
    ['a lead byte before an ASCII escape', '%C2%41'],
    ['a lead byte before an escaped slash', '%C2%2F'],
    ['a lead byte before an escaped dot', '%E1%2E%80'],
    ['a lead byte before another lead byte', '%C2%C2%80'],
    ['a continuation above BF', '%C2%C0'],
    ['an overlong three-byte sequence', '%E0%9F%BF'],
    ['a surrogate', '%ED%A0%80'],
    ['a three-byte sequence cut short', '%E1%80'],
    ['an overlong four-byte sequence', '%F0%8F%BF%BF'],
    ['a code point above U+10FFFF', '%F4%90%80%80'],
    ['a lead byte F5', '%F5%80%80%80'],
    ['a lead byte FF', '%FF'],
    ['a four-byte sequence cut short by a slash', '%F1%80%80/'],
  ])('refuses %s', (_what, escapes) => {
    expect(normalizePath(`/${escapes}`, merge)).toEqual(notUtf8);
  });
});

describe('normalizePath: escaped slashes', () => {
  it('applies each action to %2F and %5C, in either case', () => {
    for (const escaped of ['%2F', '%2f', '%5C', '%5c']) {
      const upper = escaped.toUpperCase();
      expect(normalizePath(`/a${escaped}b`, opts('MERGE_SLASHES', 'KEEP_UNCHANGED')), escaped).toEqual(forwarded(`/a${upper}b`));
      expect(normalizePath(`/a${escaped}b`, opts('MERGE_SLASHES', 'UNESCAPE_AND_FORWARD')), escaped).toEqual(forwarded('/a/b'));
      expect(normalizePath(`/a${escaped}b`, opts('MERGE_SLASHES', 'REJECT_REQUEST')), escaped).toEqual(rejected('request path has an escaped slash or backslash'));
      expect(normalizePath(`/a${escaped}b?q`, opts('MERGE_SLASHES', 'UNESCAPE_AND_REDIRECT')), escaped).toEqual({ kind: 'redirect', location: '/a/b?q' });
    }
  });

  it('redirects only for an escaped slash in the path, never to //host', () => {
    const redirect = opts('BASE', 'UNESCAPE_AND_REDIRECT');
    expect(normalizePath('/a/../b', redirect)).toEqual(forwarded('/b'));
    expect(normalizePath('/a%25?x=%2F', redirect)).toEqual(forwarded('/a%25?x=%2F'));
    expect(normalizePath('/a%252F', redirect)).toEqual(forwarded('/a%252F'));
    expect(normalizePath('/a%5B', redirect)).toEqual(forwarded('/a%5B'));
    // An escape is a slash only when both its digits are: %4F is O, %4C is L, %3c is <.
    expect(normalizePath('/a%4F%4C%3c', redirect)).toEqual(forwarded('/aOL%3C'));
    // Only an escape: `2F` after the first `/` is two letters.
    expect(normalizePath('/2F%41', redirect)).toEqual(forwarded('/2FA'));
    expect(normalizePath('/a%2G', redirect)).toEqual(badEscape);
    expect(normalizePath('/%2F%2Fevil.example/x', redirect)).toEqual({ kind: 'redirect', location: '/evil.example/x' });
    expect(normalizePath('/%2F%2Fevil.example', opts('MERGE_SLASHES', 'UNESCAPE_AND_REDIRECT'))).toEqual({ kind: 'redirect', location: '/evil.example' });
    expect(normalizePath('/x%41%2F', redirect)).toEqual({ kind: 'redirect', location: '/xA/' });
  });

  it('defaults to UNESCAPE_AND_FORWARD under DECODE_AND_MERGE_SLASHES and to KEEP_UNCHANGED otherwise', () => {
    expect(escapedSlashAction(opts('DECODE_AND_MERGE_SLASHES'))).toBe('UNESCAPE_AND_FORWARD');
    expect(escapedSlashAction(opts('MERGE_SLASHES'))).toBe('KEEP_UNCHANGED');
    expect(escapedSlashAction(opts('BASE'))).toBe('KEEP_UNCHANGED');
    expect(escapedSlashAction(opts('DECODE_AND_MERGE_SLASHES', 'REJECT_REQUEST'))).toBe('REJECT_REQUEST');
    expect(normalizePath('/a%2Fb', opts('DECODE_AND_MERGE_SLASHES'))).toEqual(forwarded('/a/b'));
    expect(normalizePath('//a%2F%2Fb', opts('DECODE_AND_MERGE_SLASHES'))).toEqual(forwarded('/a/b'));
  });
});

describe('normalizePath: segments', () => {
  it.each([
    ['/.', '/'],
    ['/..', '/'],
    ['/./', '/'],
    ['/../', '/'],
    ['/a/.', '/a/'],
    ['/a/..', '/'],
    ['/a/b/..', '/a/'],
    ['/a/./b', '/a/b'],
    ['/a/../b/', '/b/'],
    ['/.a', '/.a'],
    ['/..a', '/..a'],
    ['/a.', '/a.'],
    ['/a/...', '/a/...'],
    ['/a/.../b', '/a/.../b'],
    ['/a/.b/', '/a/.b/'],
    ['/a/', '/a/'],
    ['/a//', '/a/'],
    ['//', '/'],
    ['/a//?q//', '/a/?q//'],
    ['/a/..?q', '/?q'],
    ['/a/.?q', '/a/?q'],
  ])('MERGE_SLASHES reads %j as %j', (input, expected) => {
    expect(normalizePath(input, merge)).toEqual(forwarded(input === expected ? input : expected));
  });

  it.each([
    ['/a//', '/a//'],
    ['//a', '//a'],
    ['/a//b/..', '/a//'],
    ['/a/./', '/a/'],
    ['/a\\\\b', '/a//b'],
  ])('BASE reads %j as %j', (input, expected) => {
    expect(normalizePath(input, base)).toEqual(forwarded(expected));
  });
});
