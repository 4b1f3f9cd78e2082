import { describe, expect, it } from 'vitest';
import { call, callIn, expectCall, expectFailure, makeContext, registry, v } from './call-builtin.js';

describe('units', () => {
  it('units.parse handles SI and IEC suffixes exactly', () => {
    expect(['1K', '1k', '1M', '1G', '1g', '1T', '1P', '1p', '1E', '1e'].map((s) => call('units.parse', s))).toEqual([
      1000, 1000, 1e6, 1e9, 1e9, 1e12, 1e15, 1e15, 10n ** 18n, 10n ** 18n,
    ]);
    expect(call('units.parse', '1m')).toBe(0.001);
    expect(call('units.parse', '1500m')).toBe(1.5);
    expect(call('units.parse', '1Ki')).toBe(1024);
    expect(call('units.parse', '1kI')).toBe(1024);
    expect(call('units.parse', '1.5Mi')).toBe(1572864);
    expect(call('units.parse', '1Ei')).toBe(1152921504606846976n);
    expect(call('units.parse', '1Yi')).toBe(1208925819614629174706176n);
    expect(call('units.parse', '1Q')).toBe(10n ** 30n);
    expect(call('units.parse', '1q')).toBe(1e-30);
    expect(call('units.parse', '1da')).toBe(10);
    expect(call('units.parse', '"1"')).toBe(1);
    expect(call('units.parse', '-2k')).toBe(-2000);
    expect(call('units.parse', '.5')).toBe(0.5);
    expectFailure('units.parse', ['1 m'], 'eval_builtin_error', 'units.parse: spaces not allowed in resource strings');
    expect(call('units.parse', '1mb')).toBeUndefined();
    expectFailure('units.parse', ['K'], 'eval_builtin_error', 'units.parse: no amount provided');
    expectFailure('units.parse', ['1.2.3Mi'], 'eval_builtin_error', 'units.parse: could not parse amount to a number');
    expectFailure('units.parse', ['1'.repeat(500)], 'eval_builtin_error', 'too many digits');
  });

  it('reads an exponent in the amount as OPA does, and an e not followed by a digit or sign as the unit', () => {
    expect(call('units.parse', '2e3')).toBe(2000);
    expect(call('units.parse', '1.5E+2k')).toBe(150000);
    expect(call('units.parse', '25e-3')).toBe(0.025);
    expect(call('units.parse', '3e')).toBe(3n * 10n ** 18n);
    expect(call('units.parse', '1ei')).toBe(1152921504606846976n);
    expect(call('units.parse_bytes', '1e3KB')).toBe(1000000);
    expect(call('units.parse_bytes', '2.5e1')).toBe(25);
    expectFailure('units.parse', ['1e+'], 'eval_builtin_error', 'units.parse: could not parse amount to a number');
    expectFailure('units.parse', ['1e3e4'], 'eval_builtin_error', 'units.parse: could not parse amount to a number');
    expectFailure('units.parse_bytes', ['1e1234567'], 'eval_builtin_error', 'units.parse_bytes: exponent too large');
    expectFailure('units.parse', ['1e999'], 'eval_builtin_error', 'units.parse: exponent too large');
    expect(call('units.parse', '1e3xyz')).toBeUndefined();
  });

  it('units.parse_bytes is case-insensitive and whole', () => {
    expect(call('units.parse_bytes', '1KB')).toBe(1000);
    expect(call('units.parse_bytes', '1kib')).toBe(1024);
    expect(call('units.parse_bytes', '1KI')).toBe(1024);
    expect(call('units.parse_bytes', '1.5KiB')).toBe(1536);
    expect(call('units.parse_bytes', '1.1B')).toBe(1);
    expect(call('units.parse_bytes', '12')).toBe(12);
    expect(call('units.parse_bytes', '1yib')).toBe(1208925819614629174706176n);
    expect(call('units.parse_bytes', '1QB')).toBe(10n ** 30n);
    expect(call('units.parse_bytes', '-1KB')).toBe(-1000);
    expectFailure('units.parse_bytes', ['KB'], 'eval_builtin_error', 'units.parse_bytes: no byte amount provided');
    expectFailure('units.parse_bytes', ['1 KB'], 'eval_builtin_error', 'spaces not allowed');
    expectFailure('units.parse_bytes', ['4..2KB'], 'eval_builtin_error', 'units.parse_bytes: could not parse byte amount to a number');
    expect(call('units.parse_bytes', '1XB')).toBeUndefined();
  });
});

describe('semver', () => {
  it('validates strict SemVer 2.0.0', () => {
    for (const valid of ['1.9.10', '0.0.0', '1.1.12-rc1+foo', '1.0.0-alpha.1', '1.0.0+build.5']) {
      expect(call('semver.is_valid', valid), valid).toBe(true);
    }
    for (const invalid of ['1.1', 'v1.0.0', '=1.0.0', '1.0.0-', '1.0.0-a..b', '1.0.0+', '1.a.0', 'x', '99999999999999999999.0.0']) {
      expect(call('semver.is_valid', invalid), invalid).toBe(false);
    }
    expect(call('semver.is_valid', 1)).toBe(false);
  });

  it('compares with SemVer precedence, ignoring build metadata', () => {
    expect(call('semver.compare', '1.9.10', '1.8.15')).toBe(1);
    expect(call('semver.compare', '1.8.15', '1.9.10')).toBe(-1);
    expect(call('semver.compare', '1.0.0+a', '1.0.0+b')).toBe(0);
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '2.0.0', '10.0.0'];
    for (let i = 0; i + 1 < ordered.length; i++) {
      expect(call('semver.compare', ordered[i]!, ordered[i + 1]!), `${ordered[i]} < ${ordered[i + 1]}`).toBe(-1);
      expect(call('semver.compare', ordered[i + 1]!, ordered[i]!)).toBe(1);
    }
    expectFailure('semver.compare', ['1.1', '1.0.0'], 'eval_builtin_error', 'semver.compare: operand 1: string "1.1" is not a valid SemVer');
    expectFailure('semver.compare', ['1.0.0', 'v2'], 'eval_builtin_error', 'operand 2: string "v2" is not a valid SemVer');
    expectFailure('semver.compare', [1, ''], 'eval_type_error', 'semver.compare: operand 1 must be string but got number');
  });
});

describe('uuid', () => {
  it('uuid.rfc4122 is a v4 UUID, the same for one key within an evaluation', () => {
    const context = makeContext();
    const a = callIn(context, 'uuid.rfc4122', 'a') as string;
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(callIn(context, 'uuid.rfc4122', 'a')).toBe(a);
    expect(callIn(context, 'uuid.rfc4122', 'b')).not.toBe(a);
    expect(callIn(makeContext(), 'uuid.rfc4122', 'a')).not.toBe(a);
    expect(registry.get('uuid.rfc4122')!.nondeterministic).toBe(true);
  });

  it('uuid.parse reports time-based fields for v1 and v2', () => {
    expectCall('uuid.parse', ['b01d0062-a116-11ee-822b-7ab0b9e5e0c0'], v({
      clocksequence: 555, macvariables: 'local:unicast', nodeid: '7a-b0-b9-e5-e0-c0', time: 1703282931110717000, variant: 'RFC4122', version: 1,
    }));
    expectCall('uuid.parse', ['b700c334-a128-11ee-bfff-7ab0b9e5e0c0'], v({
      clocksequence: 16383, macvariables: 'local:unicast', nodeid: '7a-b0-b9-e5-e0-c0', time: 1703290673610834000, variant: 'RFC4122', version: 1,
    }));
    const v2 = call('uuid.parse', '000003e8-a129-21ee-ab00-325096b39f47');
    expect(call('object.get', v2!, 'domain', null)).toBe('Person');
    expect(call('object.get', v2!, 'id', null)).toBe(1000);
    expect(call('object.get', v2!, 'version', null)).toBe(2);
  });

  it('uuid.parse reports time for v6 and v7 and only version/variant otherwise', () => {
    expectCall('uuid.parse', ['1EC9414C-232A-6B00-B3C8-9E6BDECED846'], v({ variant: 'RFC4122', version: 6, time: 1645557742000000000 }));
    expectCall('uuid.parse', ['017F22E2-79B0-7CC3-98C4-DC0C0C07398F'], v({ variant: 'RFC4122', version: 7, time: 1645557742000000000 }));
    expectCall('uuid.parse', ['a6342df8-7801-469c-b3f3-c5317a0ebdaa'], v({ variant: 'RFC4122', version: 4 }));
    expectCall('uuid.parse', ['{a6342df8-7801-469c-b3f3-c5317a0ebdaa}'], v({ variant: 'RFC4122', version: 4 }));
    expectCall('uuid.parse', ['urn:uuid:a6342df8-7801-469c-b3f3-c5317a0ebdaa'], v({ variant: 'RFC4122', version: 4 }));
    expectCall('uuid.parse', ['a6342df87801469cd3f3c5317a0ebdaa'], v({ variant: 'Microsoft', version: 4 }));
  });

  it('uuid.parse is undefined for what is not a UUID', () => {
    for (const bad of ['not-valid', 'a6342df8-7801-469c-b3f3-c5317a0ebdaz', 'a6342df8x7801-469c-b3f3-c5317a0ebdaa', '']) {
      expect(call('uuid.parse', bad), bad).toBeUndefined();
    }
    expectFailure('uuid.parse', [42], 'eval_type_error', 'uuid.parse: operand 1 must be string but got number');
  });
});
