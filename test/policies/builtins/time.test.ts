import { describe, expect, it } from 'vitest';
import { makeArray, type Value } from '../../../policies/engine/value.js';
import { call, callIn, expectCall, expectFailure, makeContext, registry, v } from './call-builtin.js';

const t = 1703444325734390000n; // 2023-12-24T18:58:45.73439Z, a Sunday

describe('time builtins', () => {
  it('time.now_ns is the evaluation time and is nondeterministic', () => {
    expect(callIn(makeContext(42n), 'time.now_ns')).toBe(42);
    expect(callIn(makeContext(t), 'time.now_ns')).toBe(t);
    expect(registry.get('time.now_ns')!.nondeterministic).toBe(true);
  });

  it('parses RFC 3339 with fractions and offsets', () => {
    expect(call('time.parse_rfc3339_ns', '1985-04-12T23:20:50.52Z')).toBe(482196050520000000n);
    expect(call('time.parse_rfc3339_ns', '1996-12-19T16:39:57-08:00')).toBe(851042397000000000n);
    expect(call('time.parse_rfc3339_ns', '2023-12-24T18:58:45.734390001Z')).toBe(t + 1n);
    expect(call('time.parse_rfc3339_ns', '1969-12-31T23:59:59.5Z')).toBe(-500000000);
    expectFailure('time.parse_rfc3339_ns', ['2023-12-24 18:58:45Z'], 'eval_builtin_error', 'cannot parse " 18:58:45Z" as "T"');
    expectFailure('time.parse_rfc3339_ns', ['2023-02-30T00:00:00Z'], 'eval_builtin_error', 'day out of range');
    expectFailure('time.parse_rfc3339_ns', ['2023-12-24T18:58:45Zjunk'], 'eval_builtin_error', 'extra text');
    expectFailure('time.parse_rfc3339_ns', ['3000-01-01T00:00:00Z'], 'eval_builtin_error', 'time outside of valid range');
    expectFailure('time.parse_rfc3339_ns', [1], 'eval_type_error', 'time.parse_rfc3339_ns: operand 1 must be string but got number');
  });

  it('parses Go reference layouts, named layouts included', () => {
    expect(call('time.parse_ns', '2006-01-02T15:04:05', '2016-05-10T19:06:42')).toBe(1462907202000000000n);
    expect(call('time.parse_ns', '2006-01-02 15:04:05', '2015-09-05 23:56:04')).toBe(1441497364000000000n);
    expect(call('time.parse_ns', 'Mon Jan _2 15:04:05 -0700 2006', 'Sun Dec  24 13:58:45 -0500 2023')).toBe(t - 734390000n);
    expect(call('time.parse_ns', '02 Jan 06 3:04PM', '24 Dec 23 6:58PM')).toBe(1703444280000000000n);
    expect(call('time.parse_ns', 'January 2, 2006', 'december 24, 2023')).toBe(1703376000000000000n);
    expect(call('time.parse_ns', 'RFC1123', 'Sun, 24 Dec 2023 18:58:45 UTC')).toBe(1703444325000000000n);
    expect(call('time.parse_ns', '2006-01-02T15:04:05.000Z07:00', '2023-12-24T19:58:45.734+01:00')).toBe(1703444325734000000n);
    expect(call('time.parse_ns', '2006 002', '2024 060')).toBe(1709164800000000000n);
    expectFailure('time.parse_ns', ['2006-01-02', '2023-13-01'], 'eval_builtin_error', 'month out of range');
    expectFailure('time.parse_ns', ['2006-01-02T15:04:05.000', '2023-12-24T18:58:45.7'], 'eval_builtin_error', 'cannot parse ".7" as ".000"');
    expectFailure('time.parse_ns', ['15:04', '25:00'], 'eval_builtin_error', 'hour out of range');
  });

  it('formats with Go layouts, zones and nanoseconds', () => {
    expect(call('time.format', t)).toBe('2023-12-24T18:58:45.73439Z');
    expect(call('time.format', v([1703444325000000000, 'UTC']))).toBe('2023-12-24T18:58:45Z');
    expect(call('time.format', makeArray([t, 'America/New_York', 'Mon Jan _2 15:04:05 MST 2006']))).toBe('Sun Dec 24 13:58:45 EST 2023');
    expect(call('time.format', makeArray([t, 'Europe/Paris', 'RFC3339']))).toBe('2023-12-24T19:58:45+01:00');
    expect(call('time.format', makeArray([t, '', 'Kitchen']))).toBe('6:58PM');
    expect(call('time.format', makeArray([t, 'UTC', '2006-01-02 15:04:05.000000 -0700 002 __2 pm']))).toBe('2023-12-24 18:58:45.734390 +0000 358 358 pm');
    expect(call('time.format', makeArray([t, 'Asia/Kolkata', 'Z07:00 -07 Z0700']))).toBe('+05:30 +05 +0530');
    expect(call('time.format', makeArray([-1, 'UTC', 'RFC3339Nano']))).toBe('1969-12-31T23:59:59.999999999Z');
  });

  it('names a zone at Greenwich time GMT, as the tz database does, and UTC only UTC', () => {
    expect(call('time.format', makeArray([t, 'Europe/London', 'MST']))).toBe('GMT');
    expect(call('time.format', makeArray([t, 'Africa/Abidjan', 'MST -0700']))).toBe('GMT +0000');
    expect(call('time.format', makeArray([t, 'UTC', 'MST']))).toBe('UTC');
    expect(call('time.format', makeArray([t, 'Europe/Moscow', 'MST']))).toBe('+03');
  });

  it('round-trips format and parse', () => {
    const layout = '2006-01-02T15:04:05.999999999';
    const text = call('time.format', makeArray([t, 'UTC', layout])) as string;
    expect(call('time.parse_ns', layout, text)).toBe(t);
  });

  it('date, clock and weekday honour time zones and DST', () => {
    expectCall('time.date', [t], v([2023, 12, 24]));
    expectCall('time.date', [v([1257894000000000000, 'UTC'])], v([2009, 11, 10]));
    expectCall('time.clock', [t], v([18, 58, 45]));
    expectCall('time.clock', [makeArray([t, 'CET'])], v([19, 58, 45]));
    const july = 1688212800000000000n; // 2023-07-01T12:00:00Z
    expectCall('time.clock', [makeArray([july, 'America/New_York'])], v([8, 0, 0]));
    expectCall('time.clock', [makeArray([t, 'America/New_York'])], v([13, 58, 45]));
    expect(call('time.weekday', t)).toBe('Sunday');
    expect(call('time.weekday', v([1257894000000000000, '']))).toBe('Tuesday');
    expectCall('time.date', [-1], v([1969, 12, 31]));
    expect(call('time.clock', makeArray([t, 'Local'])) !== undefined).toBe(true);
  });

  it('rejects bad instants and zones', () => {
    expectFailure('time.date', ['x'], 'eval_type_error', 'time.date: operand 1 must be one of {number, array} but got string');
    expectFailure('time.date', [v([])], 'eval_builtin_error', 'operand 1 must be either number (ns)');
    expectFailure('time.date', [v(['1'])], 'eval_builtin_error', 'operand 1 must be either number (ns)');
    expectFailure('time.date', [1.5], 'eval_builtin_error', 'timestamp too big');
    expectFailure('time.date', [2n ** 64n], 'eval_builtin_error', 'timestamp too big');
    expectFailure('time.clock', [v([0, 'Mars/Olympus'])], 'eval_builtin_error', 'unknown time zone Mars/Olympus');
    expectFailure('time.clock', [v([0, 1])], 'eval_builtin_error', 'time zone must be a string');
  });

  it("add_date normalises like Go's AddDate and fails beyond int64 nanoseconds", () => {
    const cases: [number, number, number, bigint][] = [
      [0, 0, 0, t],
      [1, 0, 0, 1735066725734390000n],
      [-60, 0, 0, -190011674265610000n],
      [0, 15, 0, 1742842725734390000n],
      [0, -19, 0, 1653418725734390000n],
      [0, 0, 37, 1706641125734390000n],
      [0, 0, -31, 1700765925734390000n],
      [213, 6, 5, 8441261925734390000n],
      [-213, -6, -5, -5034459674265610000n],
      [10, 14, -75, 2049476325734390000n],
    ];
    for (const [years, months, days, expected] of cases) {
      expect(call('time.add_date', t, years, months, days), `${years} ${months} ${days}`).toBe(expected);
    }
    expect(call('time.add_date', 1698710400000000000n, 0, 1, 0)).toBe(1701388800000000000n); // Oct 31 + 1 month = Dec 1
    const outside = (args: Value[]): void =>
      expectFailure('time.add_date', args, 'eval_builtin_error', 'time.add_date: time outside of valid range');
    outside([t, 2147483647, 0, 0]);
    outside([t, -2147483647, 0, 0]);
    outside([t, 0, 0, 1e12]);
    outside([9_200_000_000_000_000_000n, 1, 0, 0]);
    outside([0, 300, 0, 0]);
    // More days than the old cut-off of 200,000 can still land in range when starting near the lower bound.
    const early = -9_000_000_000_000_000_000n; // 1684-10-23
    expect(call('time.add_date', early, 0, 0, 210_000)).toBe(early + 210_000n * 86_400n * 1_000_000_000n);
    outside([early, 0, 0, 300_001]);
    expectFailure('time.add_date', [t, 0.5, 0, 0], 'eval_type_error', 'time.add_date: operand 2 must be integer number');
  });

  it('diff gives the calendar difference whatever the order', () => {
    expectCall('time.diff', [t, 1257894000000000000n], v([14, 1, 13, 19, 58, 45]));
    expectCall('time.diff', [1257894000000000000n, t], v([14, 1, 13, 19, 58, 45]));
    expectCall('time.diff', [v([t, 'UTC']), v([1257894000000000000, ''])], v([14, 1, 13, 19, 58, 45]));
    expectCall('time.diff', [t, t], v([0, 0, 0, 0, 0, 0]));
  });

  it('parses Go durations exactly', () => {
    expect(call('time.parse_duration_ns', '1h')).toBe(3600000000000);
    expect(call('time.parse_duration_ns', '1h6m13.3s20ms15µs1ns')).toBe(3973320015001);
    expect(call('time.parse_duration_ns', '1.2h20.2ms15µs56ns')).toBe(4320020215056);
    expect(call('time.parse_duration_ns', '45.67s123ms')).toBe(45793000000);
    expect(call('time.parse_duration_ns', '15.000001ms')).toBe(15000001);
    expect(call('time.parse_duration_ns', '-1.5h')).toBe(-5400000000000);
    expect(call('time.parse_duration_ns', '0')).toBe(0);
    expect(call('time.parse_duration_ns', '.5s')).toBe(500000000);
    expect(call('time.parse_duration_ns', '2562047h47m16.854775807s')).toBe(2n ** 63n - 1n);
    expectFailure('time.parse_duration_ns', ['1'], 'eval_builtin_error', 'time: missing unit in duration "1"');
    expectFailure('time.parse_duration_ns', ['1x'], 'eval_builtin_error', 'time: unknown unit "x" in duration "1x"');
    expectFailure('time.parse_duration_ns', [''], 'eval_builtin_error', 'time: invalid duration ""');
    expectFailure('time.parse_duration_ns', ['.s'], 'eval_builtin_error', 'time: invalid duration ".s"');
    expectFailure('time.parse_duration_ns', ['2562048h'], 'eval_builtin_error', 'time: invalid duration');
  });
});
