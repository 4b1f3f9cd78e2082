import { describe, expect, it } from 'vitest';
import {
  parseSpiffeId,
  parseWorkloadId,
  spiffeIdOfSubjectAltName,
  workloadId,
} from '../../../control-plane/api/spiffe-id.js';

describe('parseSpiffeId', () => {
  it('accepts a trust domain ID and workload paths', () => {
    expect(parseSpiffeId('spiffe://example.org')).toMatchObject({ trustDomain: 'example.org', path: '' });
    expect(parseSpiffeId('spiffe://cluster.local/ns/shop/sa/web-1_a.b')).toMatchObject({
      trustDomain: 'cluster.local',
      path: '/ns/shop/sa/web-1_a.b',
    });
  });

  it.each([
    ['http://example.org/ns/a/sa/b', /scheme/],
    ['SPIFFE://example.org/ns/a/sa/b', /scheme/],
    ['spiffe:/example.org/ns/a/sa/b', /scheme/],
    ['example.org/ns/a/sa/b', /scheme/],
    ['spiffe://', /trust domain is empty/],
    ['spiffe:///ns/a', /trust domain is empty/],
    ['spiffe://Example.org/ns/a', /trust domain/],
    ['spiffe://example.org:8443/ns/a', /trust domain/],
    ['spiffe://user@example.org/ns/a', /trust domain/],
    ['spiffe://exa%6dple.org/ns/a', /trust domain/],
    ['spiffe://example.org/', /trailing/],
    ['spiffe://example.org/ns//sa/b', /empty segment/],
    ['spiffe://example.org/ns/../sa/b', /relative/],
    ['spiffe://example.org/ns/./sa/b', /relative/],
    ['spiffe://example.org/ns/a%2F..%2F/sa/b', /may only hold/],
    ['spiffe://example.org/ns/a b/sa/b', /may only hold/],
    ['spiffe://example.org/ns/a?x=1', /query/],
    ['spiffe://example.org/ns/a#frag', /fragment/],
    [`spiffe://example.org/${'a'.repeat(2050)}`, /longer than 2048/],
    [`spiffe://${'a'.repeat(256)}/x`, /longer than 255/],
  ])('refuses %s', (input, reason) => {
    expect(() => parseSpiffeId(input)).toThrow(reason);
  });
});

describe('parseWorkloadId', () => {
  it('splits namespace and service account', () => {
    expect(parseWorkloadId('spiffe://td/ns/shop/sa/web')).toMatchObject({ namespace: 'shop', serviceAccount: 'web' });
    expect(workloadId({ trustDomain: 'td', namespace: 'shop', serviceAccount: 'web' }).uri).toBe('spiffe://td/ns/shop/sa/web');
  });

  it.each(['spiffe://td', 'spiffe://td/ns/shop', 'spiffe://td/sa/web/ns/shop', 'spiffe://td/ns/shop/sa/web/extra', 'spiffe://td/ns/shop/xx/web'])(
    'refuses %s as a workload ID',
    (input) => {
      expect(() => parseWorkloadId(input)).toThrow(/\/ns\/<namespace>\/sa\/<service-account>/);
    },
  );

  it('refuses path traversal smuggled through the parts', () => {
    expect(() => workloadId({ trustDomain: 'td', namespace: '..', serviceAccount: 'web' })).toThrow(/relative/);
    expect(() => workloadId({ trustDomain: 'td', namespace: 'a/b', serviceAccount: 'web' })).toThrow(/\/ns\//);
  });
});

describe('spiffeIdOfSubjectAltName', () => {
  it('takes the single URI SAN', () => {
    expect(spiffeIdOfSubjectAltName('DNS:web, URI:spiffe://td/ns/a/sa/b')?.uri).toBe('spiffe://td/ns/a/sa/b');
  });

  it.each([
    [undefined],
    ['DNS:web'],
    ['URI:spiffe://td/ns/a/sa/b, URI:spiffe://td/ns/a/sa/c'],
    ['URI:https://td/ns/a/sa/b'],
    ['URI:"spiffe://td/ns/a/sa/b, URI:spiffe://td/x"'],
  ])('finds no identity in %s', (san) => {
    expect(spiffeIdOfSubjectAltName(san)).toBeUndefined();
  });
});
