// Where a request is going, read once (proxy/http/request-target.ts, authority.ts): authority
// normalized, Host and absolute-form must agree, the path normalized, methods checked.
import { describe, expect, it } from 'vitest';
import { normalizeAuthority } from '../../proxy/http/authority.js';
import { defaultPathNormalization } from '../../proxy/http/path-normalization.js';
import { isValidMethod, requestTarget } from '../../proxy/http/request-target.js';

describe('normalizeAuthority', () => {
  it.each([
    ['orders', 'orders'],
    ['Orders.Shop', 'orders.shop'],
    ['orders:8080', 'orders'],
    ['orders.', 'orders'],
    ['ORDERS.:80', 'orders'],
    ['127.0.0.1:15001', '127.0.0.1'],
    ['[::1]:8080', '[::1]'],
    ['[FE80::1]', '[fe80::1]'],
    ['my_svc', 'my_svc'],
    ['', ''],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeAuthority(input)).toBe(expected);
  });

  it.each([
    'user@orders',
    'orders%2ehost',
    'orders host',
    'orders:',
    'orders:80x',
    'orders:99999',
    'orders:8080:1',
    'orders..',
    '.orders',
    'a..b',
    '.',
    '[::1',
    '[::1]x',
    '[zz::1]',
    'örders',
    ':80',
  ])('refuses %j', (input) => {
    expect(normalizeAuthority(input)).toBeUndefined();
  });
});

describe('requestTarget', () => {
  const opts = defaultPathNormalization;

  it('normalizes the origin-form path and keeps the Host to send upstream', () => {
    expect(requestTarget('/x/../orders//admin', 'Orders.:8080', opts)).toEqual({
      authority: 'orders',
      path: '/orders/admin',
      originalPath: '/x/../orders//admin',
      host: 'Orders.:8080',
    });
    expect(requestTarget('/orders', undefined, opts)).toEqual({ authority: '', path: '/orders', originalPath: undefined, host: undefined });
  });

  it('takes absolute-form when Host agrees or is absent, and refuses it when Host names another host', () => {
    expect(requestTarget('http://Orders:80/./a?q', 'orders', opts)).toEqual({ authority: 'orders', path: '/a?q', originalPath: '/./a?q', host: 'Orders:80' });
    expect(requestTarget('HTTP://orders', undefined, opts)).toEqual({ authority: 'orders', path: '/', originalPath: undefined, host: 'orders' });
    expect(requestTarget('http://orders/a', 'evil', opts)).toEqual({ reason: 'host header and request target name different hosts' });
  });

  it('refuses targets and authorities it does not take', () => {
    expect(requestTarget('https://orders/a', undefined, opts)).toEqual({ reason: 'unsupported request target' });
    expect(requestTarget('*', 'orders', opts)).toEqual({ reason: 'unsupported request target' });
    expect(requestTarget('orders:443', undefined, opts)).toEqual({ reason: 'unsupported request target' });
    expect(requestTarget('http://user@orders/a', undefined, opts)).toEqual({ reason: 'invalid authority in the request target' });
    expect(requestTarget('http:///a', undefined, opts)).toEqual({ reason: 'invalid authority in the request target' });
    expect(requestTarget('/a', 'orders host', opts)).toEqual({ reason: 'invalid host header' });
    expect(requestTarget('/a#b', 'orders', opts)).toEqual({ reason: 'request target has a fragment' });
  });

  it('says where UNESCAPE_AND_REDIRECT sends the caller', () => {
    expect(requestTarget('/a%2Fb', 'orders', { ...opts, escapedSlashesAction: 'UNESCAPE_AND_REDIRECT' })).toEqual({
      reason: 'escaped slashes in the path',
      location: '/a/b',
    });
  });
});

describe('isValidMethod', () => {
  it.each(['GET', 'HEAD', 'POST', 'M-SEARCH', 'PROPFIND'])('takes %s', (method) => expect(isValidMethod(method)).toBe(true));
  it.each(['get', 'Get', '', 'GET ', 'G(ET', 'GÉT'])('refuses %j', (method) => expect(isValidMethod(method)).toBe(false));
});
