// The edges of authority normalization (proxy/http/authority.ts) and of the request target that
// request-target.test.ts does not reach: every character class, the bounds of a port, where a
// bracketed host ends, a scheme with nothing after it.
import { describe, expect, it } from 'vitest';
import { normalizeAuthority } from '../../proxy/http/authority.js';
import { defaultPathNormalization } from '../../proxy/http/path-normalization.js';
import { requestTarget } from '../../proxy/http/request-target.js';

describe('normalizeAuthority at its edges', () => {
  it.each([
    ['az09', 'az09'],
    ['AZ', 'az'],
    ['oA', 'oa'],
    ['oZ', 'oz'],
    ['a-b.c_d~e', 'a-b.c_d~e'],
    ['0.9', '0.9'],
    ['orders:0', 'orders'],
    ['orders:1', 'orders'],
    ['orders:65535', 'orders'],
    ['orders:09999', 'orders'],
    ['[::1]', '[::1]'],
    ['[::ffff:127.0.0.1]:443', '[::ffff:127.0.0.1]'],
    ['a.b.', 'a.b'],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeAuthority(input)).toBe(expected);
  });

  it.each([
    ['a character just below a digit', 'a/b'],
    ['a character just above a digit', 'a:b'],
    ['a character just below an upper-case letter', 'a@b'],
    ['a character just above an upper-case letter', 'a[b'],
    ['a character just below a lower-case letter', 'a`b'],
    ['a character just above a lower-case letter', 'a{b'],
    ['a control character', 'a\x00b'],
    ['DEL', 'a\x7fb'],
    ['the first code above ASCII', 'a\x80b'],
    ['a non-ASCII letter', 'ab\u00e9'],
    ['a port above 65535', 'orders:65536'],
    ['a port of six digits', 'orders:000080'],
    ['a negative port', 'orders:-1'],
    ['a port with a space', 'orders: 80'],
    ['a port with a letter at its end', 'orders:8a'],
    ['a port with a slash', 'orders:8/'],
    ['a bracket that never closes after a valid start', '[::1:80'],
    ['brackets with nothing inside', '[]'],
    ['a bracketed host followed by a bare port', '[::1]80'],
    ['a bracketed host with an empty port', '[::1]:'],
    ['a bracketed host with a bad port', '[::1]:x'],
    ['a leading colon', ':'],
    ['a trailing dot after a double dot', 'a..'],
  ])('refuses %s (%j)', (_what, input) => {
    expect(normalizeAuthority(input)).toBeUndefined();
  });

  it('returns the very string when it is already normal, and a lower-cased copy otherwise', () => {
    const normal = 'orders.shop';
    expect(normalizeAuthority(normal)).toBe(normal);
    expect(normalizeAuthority('Orders.Shop.:8080')).toBe('orders.shop');
    expect(normalizeAuthority('orders.shop.')).toBe('orders.shop');
    expect(normalizeAuthority('[FE80::A]:1')).toBe('[fe80::a]');
  });
});

describe('requestTarget at its edges', () => {
  it('reads a bare scheme as no absolute-form target at all', () => {
    expect(requestTarget('http://', undefined, defaultPathNormalization)).toEqual({ reason: 'unsupported request target' });
    expect(requestTarget('http:/', undefined, defaultPathNormalization)).toEqual({ reason: 'unsupported request target' });
    expect(requestTarget('http://a', undefined, defaultPathNormalization)).toEqual({ authority: 'a', path: '/', originalPath: undefined, host: 'a' });
  });
});
