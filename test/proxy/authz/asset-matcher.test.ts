// Which asset a request is for (proxy/filters/authz/asset-matcher.ts): the most specific one, by
// the order the module documents, with hosts, methods and gRPC services as constraints.
import { describe, expect, it } from 'vitest';
import type { PathMatch } from '../../../control-plane/api/resource-types.js';
import { AssetMatcher } from '../../../proxy/filters/authz/asset-matcher.js';

interface TestAsset {
  readonly name: string;
  readonly match: {
    readonly paths?: PathMatch[];
    readonly hosts?: string[];
    readonly methods?: string[];
    readonly grpc?: { service: string; method?: string };
  };
}

const asset = (name: string, match: TestAsset['match']): TestAsset => ({ name, match });
const matchName = (assets: TestAsset[], method: string, path: string, authority = 'orders') =>
  new AssetMatcher(assets).match(method, path, authority)?.name;

describe('AssetMatcher specificity', () => {
  it('prefers an exact path to any prefix, and a longer prefix to a shorter one', () => {
    const assets = [asset('short', { paths: [{ prefix: '/a' }] }), asset('exact', { paths: [{ exact: '/a/b' }] }), asset('long', { paths: [{ prefix: '/a/b' }] })];
    expect(matchName(assets, 'GET', '/a/b')).toBe('exact');
    expect(matchName(assets, 'GET', '/a/b/c')).toBe('long');
    expect(matchName(assets, 'GET', '/a/c')).toBe('short');
    expect(matchName(assets.slice().reverse(), 'GET', '/a/b/c')).toBe('long');
  });

  it('prefers a longer exact path to a shorter one only when both match (exact means equal)', () => {
    const assets = [asset('root', { paths: [{ exact: '/' }] }), asset('orders', { paths: [{ exact: '/orders' }] })];
    expect(matchName(assets, 'GET', '/orders')).toBe('orders');
    expect(matchName(assets, 'GET', '/')).toBe('root');
    expect(matchName(assets, 'GET', '/orders/')).toBeUndefined();
    expect(matchName(assets, 'GET', '/order')).toBeUndefined();
  });

  it('prefers any prefix to any glob, and a glob with more literal characters to one with fewer', () => {
    const assets = [asset('glob-long', { paths: [{ glob: '/files/**/report-*.pdf' }] }), asset('glob-short', { paths: [{ glob: '/**' }] }), asset('prefix', { paths: [{ prefix: '/f' }] })];
    expect(matchName(assets, 'GET', '/files/x/report-1.pdf')).toBe('prefix');
    expect(matchName(assets.slice(0, 2), 'GET', '/files/x/report-1.pdf')).toBe('glob-long');
    expect(matchName(assets.slice(0, 2).reverse(), 'GET', '/files/x/report-1.pdf')).toBe('glob-long');
    expect(matchName(assets.slice(0, 2), 'GET', '/elsewhere')).toBe('glob-short');
  });

  it('ranks globs by their literal characters, not by their wildcards', () => {
    const literal = asset('literal', { paths: [{ glob: '/files/*/report.pdf' }] });
    const wild = asset('wild', { paths: [{ glob: '/**' }] });
    expect(matchName([wild, literal], 'GET', '/files/x/report.pdf')).toBe('literal');
    expect(matchName([literal, wild], 'GET', '/files/x/report.pdf')).toBe('literal');
  });

  it('takes the best of an asset\'s own paths, whatever their order', () => {
    const twoPaths = asset('two', { paths: [{ glob: '/a/*' }, { exact: '/a/b' }] });
    const onePrefix = asset('prefix', { paths: [{ prefix: '/a/' }] });
    expect(matchName([onePrefix, twoPaths], 'GET', '/a/b')).toBe('two');
    expect(matchName([onePrefix, twoPaths], 'GET', '/a/c')).toBe('prefix');
    const reversed = asset('two', { paths: [{ exact: '/a/b' }, { glob: '/a/*' }] });
    expect(matchName([onePrefix, reversed], 'GET', '/a/b')).toBe('two');
  });

  it('breaks a path tie by methods, then by hosts, and a longer path outweighs both', () => {
    const plain = asset('plain', { paths: [{ prefix: '/a' }] });
    const hosted = asset('hosted', { paths: [{ prefix: '/a' }], hosts: ['orders'] });
    const methods = asset('methods', { paths: [{ prefix: '/a' }], methods: ['GET'] });
    const both = asset('both', { paths: [{ prefix: '/a' }], methods: ['GET'], hosts: ['orders'] });
    expect(matchName([plain, hosted], 'GET', '/a')).toBe('hosted');
    expect(matchName([hosted, methods], 'GET', '/a')).toBe('methods');
    expect(matchName([methods, hosted], 'GET', '/a')).toBe('methods');
    expect(matchName([plain, methods, hosted, both], 'GET', '/a')).toBe('both');
    expect(matchName([both, asset('longer', { paths: [{ prefix: '/ab' }] })], 'GET', '/abc')).toBe('longer');
  });

  it('keeps the first of equally specific assets', () => {
    const assets = [asset('first', { paths: [{ prefix: '/a' }] }), asset('second', { paths: [{ prefix: '/a' }] })];
    expect(matchName(assets, 'GET', '/a')).toBe('first');
  });

  it('matches an asset without paths on every path, and one with paths only on those', () => {
    expect(matchName([asset('any', {})], 'GET', '/')).toBe('any');
    expect(matchName([asset('any', { methods: ['POST'] })], 'POST', '/x')).toBe('any');
    expect(matchName([asset('some', { paths: [{ prefix: '/a' }] })], 'GET', '/b')).toBeUndefined();
    expect(matchName([asset('some', { paths: [{ prefix: '/a' }] }), asset('any', {})], 'GET', '/a')).toBe('some');
  });
});

describe('AssetMatcher constraints', () => {
  it('compares hosts without case, against the normalized authority', () => {
    const assets = [asset('orders', { hosts: ['Orders.Shop'] })];
    expect(matchName(assets, 'GET', '/', 'orders.shop')).toBe('orders');
    expect(matchName(assets, 'GET', '/', 'orders')).toBeUndefined();
    expect(matchName(assets, 'GET', '/', '')).toBeUndefined();
  });

  it('compares methods exactly, upper-casing the listed ones; GET also admits HEAD and nothing else does', () => {
    expect(matchName([asset('read', { methods: ['get'] })], 'GET', '/')).toBe('read');
    expect(matchName([asset('read', { methods: ['GET'] })], 'HEAD', '/')).toBe('read');
    expect(matchName([asset('read', { methods: ['GET'] })], 'POST', '/')).toBeUndefined();
    expect(matchName([asset('head', { methods: ['HEAD'] })], 'GET', '/')).toBeUndefined();
    expect(matchName([asset('write', { methods: ['POST'] })], 'HEAD', '/')).toBeUndefined();
    expect(matchName([asset('write', { methods: ['POST', 'PUT'] })], 'PUT', '/')).toBe('write');
  });

  it('reads a gRPC service as the prefix /service/ and a gRPC method as the exact path', () => {
    const service = asset('service', { grpc: { service: 'shop.Orders' } });
    const method = asset('method', { grpc: { service: 'shop.Orders', method: 'Get' } });
    expect(matchName([service], 'POST', '/shop.Orders/List')).toBe('service');
    expect(matchName([service], 'POST', '/shop.OrdersX/List')).toBeUndefined();
    expect(matchName([service], 'POST', '/shop.Orders')).toBeUndefined();
    expect(matchName([service, method], 'POST', '/shop.Orders/Get')).toBe('method');
    expect(matchName([method], 'POST', '/shop.Orders/GetAll')).toBeUndefined();
    expect(matchName([asset('both', { paths: [{ exact: '/health' }], grpc: { service: 's' } })], 'POST', '/health')).toBe('both');
  });
});

describe('AssetMatcher globs', () => {
  const glob = (pattern: string, path: string) => matchName([asset('g', { paths: [{ glob: pattern }] })], 'GET', path) === 'g';

  it('matches the whole path, not a part of it', () => {
    expect(glob('/a', '/a')).toBe(true);
    expect(glob('/a', '/ab')).toBe(false);
    expect(glob('/a', '/x/a')).toBe(false);
  });

  it('reads * as a run without /, ** as any run, ? as one character but /', () => {
    expect(glob('/a/*', '/a/')).toBe(true);
    expect(glob('/a/*', '/a/bc')).toBe(true);
    expect(glob('/a/*', '/a/b/c')).toBe(false);
    expect(glob('/a/*x', '/a/bx')).toBe(true);
    expect(glob('/a/**', '/a/b/c')).toBe(true);
    expect(glob('/a/**x', '/a/b/cx')).toBe(true);
    expect(glob('/a/**x', '/a/b/cy')).toBe(false);
    expect(glob('/a*/*x', '/ab/cy')).toBe(false);
    expect(glob('/a/**', '/a/b\nc')).toBe(true);
    expect(glob('/a/?', '/a/b')).toBe(true);
    expect(glob('/a/?', '/a/')).toBe(false);
    expect(glob('/a/?', '/a/bc')).toBe(false);
    expect(glob('/a?b', '/a/b')).toBe(false);
    expect(glob('/a*b', '/a/b')).toBe(false);
  });

  it('takes every other character literally', () => {
    expect(glob('/a.b', '/a.b')).toBe(true);
    expect(glob('/a.b', '/axb')).toBe(false);
    expect(glob('/a+', '/aa')).toBe(false);
    expect(glob('/a+', '/a+')).toBe(true);
    expect(glob('/(x|y)', '/x')).toBe(false);
    expect(glob('/[ab]', '/a')).toBe(false);
    expect(glob('/[ab]', '/[ab]')).toBe(true);
  });
});
