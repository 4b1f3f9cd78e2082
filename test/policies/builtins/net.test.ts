import { describe, expect, it } from 'vitest';
import { makeSet } from '../../../policies/engine/value.js';
import { call, expectCall, expectFailure, v } from './call-builtin.js';

describe('net builtins', () => {
  it('cidr_contains takes an IP or a CIDR, in IPv4 and IPv6', () => {
    expect(call('net.cidr_contains', '10.0.0.0/8', '10.255.0.1')).toBe(true);
    expect(call('net.cidr_contains', '10.0.0.0/8', '11.0.0.1')).toBe(false);
    expect(call('net.cidr_contains', '10.0.0.0/8', '10.1.0.0/16')).toBe(true);
    expect(call('net.cidr_contains', '10.1.0.0/16', '10.0.0.0/8')).toBe(false);
    expect(call('net.cidr_contains', '10.1.2.3/8', '10.9.9.9')).toBe(true);
    expect(call('net.cidr_contains', '2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(call('net.cidr_contains', '2001:db8::/32', '2001:db9::1')).toBe(false);
    expect(call('net.cidr_contains', '10.0.0.0/8', '::ffff:10.1.1.1')).toBe(true);
    expect(call('net.cidr_contains', '::/0', '10.0.0.1')).toBe(false);
    expect(call('net.cidr_contains', '0.0.0.0/0', '255.255.255.255')).toBe(true);
  });

  it('rejects what Go rejects', () => {
    expectFailure('net.cidr_contains', ['10.0.0.0', '10.0.0.1'], 'eval_builtin_error', 'net.cidr_contains: invalid CIDR address: 10.0.0.0');
    expectFailure('net.cidr_contains', ['10.0.0.0/33', '10.0.0.1'], 'eval_builtin_error', 'invalid CIDR address');
    expectFailure('net.cidr_contains', ['10.0.0.0/8', '010.0.0.1'], 'eval_builtin_error', 'invalid CIDR address or IP: 010.0.0.1');
    expectFailure('net.cidr_contains', ['fe80::/10', 'fe80::1%eth0'], 'eval_builtin_error', 'invalid CIDR address or IP');
    expect(call('net.cidr_is_valid', '192.168.0.0/24')).toBe(true);
    expect(call('net.cidr_is_valid', '2001:db8::/129')).toBe(false);
    expect(call('net.cidr_is_valid', '192.168.0.0/024')).toBe(false);
    expect(call('net.cidr_is_valid', '192.168.0.0')).toBe(false);
    expect(call('net.cidr_is_valid', '1.2.3/8')).toBe(false);
  });

  it('cidr_intersects', () => {
    expect(call('net.cidr_intersects', '192.168.0.0/16', '192.168.1.0/24')).toBe(true);
    expect(call('net.cidr_intersects', '192.168.0.0/24', '192.168.1.0/24')).toBe(false);
    expect(call('net.cidr_intersects', 'fd00::/8', 'fd12::/16')).toBe(true);
    expect(call('net.cidr_intersects', '10.0.0.0/8', '::/0')).toBe(false);
  });

  it('cidr_merge finds the fewest covering blocks', () => {
    expectCall('net.cidr_merge', [v(['192.0.128.0/24', '192.0.129.0/24'])], makeSet(['192.0.128.0/23']));
    expectCall('net.cidr_merge', [v(['192.0.129.0/24', '192.0.130.0/24'])], makeSet(['192.0.129.0/24', '192.0.130.0/24']));
    expectCall('net.cidr_merge', [makeSet(['10.0.0.1/32', '10.0.0.0/32', '10.0.0.2/32', '10.0.0.3/32', '10.0.0.4/32'])], makeSet(['10.0.0.0/30', '10.0.0.4/32']));
    expectCall('net.cidr_merge', [v(['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/33', '2001:db8:8000::/33'])], makeSet(['10.0.0.0/8', '2001:db8::/32']));
    expectCall('net.cidr_merge', [v([])], makeSet([]));
    expectFailure('net.cidr_merge', [v(['bogus'])], 'eval_builtin_error', 'invalid CIDR address or IP: bogus');
    expectFailure('net.cidr_merge', [v([1])], 'eval_builtin_error', 'IP address or CIDR expected');
    // Neither array nor set: OPA's builtin error, not a type error.
    expectFailure('net.cidr_merge', ['10.0.0.0/8'], 'eval_builtin_error', 'net.cidr_merge: operand must be an array');
  });

  it('cidr_expand lists every address and refuses huge blocks', () => {
    expectCall('net.cidr_expand', ['192.168.1.0/30'], makeSet(['192.168.1.0', '192.168.1.1', '192.168.1.2', '192.168.1.3']));
    expectCall('net.cidr_expand', ['2001:db8::/127'], makeSet(['2001:db8::', '2001:db8::1']));
    expectCall('net.cidr_expand', ['10.0.0.7/32'], makeSet(['10.0.0.7']));
    expect((call('net.cidr_expand', '10.0.0.0/16') as { size: number }).size).toBe(65536);
    expectFailure('net.cidr_expand', ['10.0.0.0/15'], 'eval_builtin_error', 'has more than 65536 addresses');
    expectFailure('net.cidr_expand', ['::/0'], 'eval_builtin_error', 'has more than');
  });

  it('cidr_merge takes a bare IPv4 address with its classful mask and refuses a bare IPv6 address, as OPA', () => {
    expectCall('net.cidr_merge', [v(['10.1.2.3'])], makeSet(['10.0.0.0/8']));
    expectCall('net.cidr_merge', [v(['172.16.5.4'])], makeSet(['172.16.0.0/16']));
    expectCall('net.cidr_merge', [v(['192.0.128.0', '192.0.129.0'])], makeSet(['192.0.128.0/23']));
    expectCall('net.cidr_merge', [v(['192.0.2.112', '192.0.2.116/31'])], makeSet(['192.0.2.0/24']));
    expectFailure('net.cidr_merge', [v(['2001:db8::1'])], 'eval_builtin_error', 'net.cidr_merge: IPv6 invalid: needs prefix length');
  });

  it('prints IPv6 as RFC 5952', () => {
    expectCall('net.cidr_merge', [v(['2001:0db8:0000:0000:0001:0000:0000:0001/128'])], makeSet(['2001:db8::1:0:0:1/128']));
    expectCall('net.cidr_merge', [v(['::1/128'])], makeSet(['::1/128']));
    expectCall('net.cidr_merge', [v(['1:0:1:0:1:0:1:0/128'])], makeSet(['1:0:1:0:1:0:1:0/128']));
  });

  it('cidr_contains_matches pairs keys of containing and contained entries', () => {
    expectCall('net.cidr_contains_matches', ['10.0.0.0/8', '10.1.2.3'], makeSet([v(['10.0.0.0/8', '10.1.2.3'])]));
    expectCall(
      'net.cidr_contains_matches',
      [v(['1.0.0.0/8', '2.0.0.0/8']), v({ a: '1.1.1.1', b: ['2.2.2.2', 'extra'], c: '3.3.3.3' })],
      makeSet([v([0, 'a']), v([1, 'b'])]),
    );
  });

  it('cidr_contains_matches names the operand of an element that is neither string nor non-empty array', () => {
    const message = (n: number) => `net.cidr_contains_matches: operand ${n}: element must be string or non-empty array`;
    expectFailure('net.cidr_contains_matches', [v(['1.1.2.0/24']), v(['1.1.1.1', 1])], 'eval_builtin_error', message(2));
    expectFailure('net.cidr_contains_matches', [makeSet([v(['1.1.1.0/24', 'bar'])]), makeSet([v([]), v(['1.1.2.1', 'qux'])])], 'eval_builtin_error', message(2));
    expectFailure('net.cidr_contains_matches', [v({ a: true }), '1.1.1.1'], 'eval_builtin_error', message(1));
    // Operand 2 is read once per entry of operand 1, so an empty operand 1 reads none of it.
    expectCall('net.cidr_contains_matches', [v([]), v([1])], makeSet([]));
  });
});
