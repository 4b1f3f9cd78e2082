// Time builtins. Instants are int64 nanoseconds (exact as bigint); an instant argument is a
// number or [ns, tz] (time.format also [ns, tz, layout]), tz being "", "UTC", "Local" or IANA.
import { isArray, makeArray, normalizeNumber, type RegoNumber, type Value } from '../value.js';
import { builtinError, define, integerOperand } from './support.js';
import { fromCivil, inInt64Range, nsPerSecond, toCivil, utc, zoneByName, type Zone } from './time-civil.js';
import { formatTime, longDays, namedLayouts, parseTime, TimeParseError } from './time-layout.js';

interface Instant {
  readonly ns: bigint;
  readonly zone: Zone;
  readonly layout: string | undefined;
}

function instantOperand(name: string, value: Value): Instant {
  let nsValue: Value = value;
  let zone = utc;
  let layout: string | undefined;
  if (isArray(value)) {
    if (value.length === 0) throw builtinError(name, 'operand 1 must be either number (ns) or [number (ns), string (tz)]');
    nsValue = value[0]!;
    if (value.length > 1) {
      const tz = value[1]!;
      if (typeof tz !== 'string') throw builtinError(name, 'time zone must be a string');
      const found = zoneByName(tz);
      if (found === undefined) throw builtinError(name, `unknown time zone ${tz}`);
      zone = found;
    }
    if (value.length > 2) {
      const raw = value[2]!;
      if (typeof raw !== 'string') throw builtinError(name, 'layout must be a string');
      layout = raw;
    }
  }
  if (typeof nsValue !== 'number' && typeof nsValue !== 'bigint') {
    throw builtinError(name, 'operand 1 must be either number (ns) or [number (ns), string (tz)]');
  }
  if (typeof nsValue === 'number' && !Number.isInteger(nsValue)) throw builtinError(name, 'timestamp too big');
  const ns = BigInt(nsValue);
  if (!inInt64Range(ns)) throw builtinError(name, 'timestamp too big');
  return { ns, zone, layout };
}

function nsResult(name: string, ns: bigint): RegoNumber {
  if (!inInt64Range(ns)) throw builtinError(name, 'time outside of valid range');
  return normalizeNumber(ns);
}

function layoutNamed(layout: string): string {
  return namedLayouts[layout] ?? layout;
}

/** Years an int64 nanosecond instant can reach, checked before any calendar arithmetic. */
const representableYears = [1677, 2263] as const;

function parse(name: string, layout: string, value: string): RegoNumber {
  try {
    return nsResult(name, parseTime(layoutNamed(layout), value));
  } catch (error) {
    if (error instanceof TimeParseError) throw builtinError(name, error.message);
    throw error;
  }
}

// Go's time.ParseDuration, including its float arithmetic for fractions.
const durationUnits: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: nsPerSecond,
  m: 60n * nsPerSecond,
  h: 3600n * nsPerSecond,
};
const maxDuration = 2n ** 63n;

export function parseDuration(text: string): bigint {
  const invalid = () => builtinError('time.parse_duration_ns', `time: invalid duration ${JSON.stringify(text)}`);
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') throw invalid();
  let total = 0n;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    const [whole, integer = '', fraction] = number;
    if (integer === '' && (fraction === undefined || fraction === '')) throw invalid();
    rest = rest.slice(whole.length);
    const unitMatch = /^[^\d.]+/.exec(rest);
    if (unitMatch === null) {
      throw builtinError('time.parse_duration_ns', `time: missing unit in duration ${JSON.stringify(text)}`);
    }
    const unitName = unitMatch[0];
    rest = rest.slice(unitName.length);
    const unit = durationUnits[unitName];
    if (unit === undefined) {
      throw builtinError(
        'time.parse_duration_ns',
        `time: unknown unit ${JSON.stringify(unitName)} in duration ${JSON.stringify(text)}`,
      );
    }
    let value = BigInt(integer === '' ? '0' : integer);
    if (value > maxDuration / unit) throw invalid();
    value *= unit;
    if (fraction !== undefined && /[1-9]/.test(fraction)) {
      const digits = fraction.slice(0, 18);
      value += BigInt(Math.trunc(Number(digits) * (Number(unit) / 10 ** digits.length)));
      if (value > maxDuration) throw invalid();
    }
    total += value;
    if (total > maxDuration) throw invalid();
  }
  if (!negative && total > maxDuration - 1n) throw invalid();
  return negative ? -total : total;
}

/** Days between the int64 nanosecond bounds (about 213,500) with room to spare: more can never land in range. */
const maxDaysInRange = 300_000n;

/** Go's AddDate: fields added, then normalised (Oct 31 + 1 month = Dec 1). Undefined beyond int64 ns. */
function addDate(instant: Instant, years: bigint, months: bigint, days: bigint): bigint | undefined {
  const civil = toCivil(instant.ns, instant.zone);
  const year = BigInt(civil.year) + years + (BigInt(civil.month - 1) + months) / 12n;
  if (year < BigInt(representableYears[0]) - 1n || year > BigInt(representableYears[1]) + 1n) return undefined;
  if (days > maxDaysInRange || days < -maxDaysInRange) return undefined;
  const result = fromCivil(
    {
      year: civil.year + Number(years),
      month: civil.month + Number(months),
      day: civil.day + Number(days),
      hour: civil.hour,
      minute: civil.minute,
      second: civil.second,
      nanosecond: civil.nanosecond,
    },
    instant.zone,
  );
  return inInt64Range(result) ? result : undefined;
}

/** OPA's time.diff: calendar difference, larger minus smaller, in the first instant's zone. */
function diff(a: Instant, b: Instant): number[] {
  const [first, second] = a.ns <= b.ns ? [a.ns, b.ns] : [b.ns, a.ns];
  const x = toCivil(first, a.zone);
  const y = toCivil(second, a.zone);
  let year = y.year - x.year;
  let month = y.month - x.month;
  let day = y.day - x.day;
  let hour = y.hour - x.hour;
  let minute = y.minute - x.minute;
  let secs = y.second - x.second;
  if (secs < 0) {
    secs += 60;
    minute--;
  }
  if (minute < 0) {
    minute += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    // Days in x's month, the way Go computes it: day 32 overflows into the next month.
    const overflow = toCivil(fromCivil({ year: x.year, month: x.month, day: 32, hour: 0, minute: 0, second: 0, nanosecond: 0 }, utc), utc);
    day += 32 - overflow.day;
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, minute, secs];
}

const instantArg = [['number', 'array']] as const;

export const timeBuiltins = [
  define('time.now_ns', [], (_args, context) => normalizeNumber(context.nowNs), { nondeterministic: true }),
  define('time.parse_rfc3339_ns', ['string'], ([value]) =>
    parse('time.parse_rfc3339_ns', namedLayouts.RFC3339!, value as string),
  ),
  define('time.parse_ns', ['string', 'string'], ([layout, value]) => parse('time.parse_ns', layout as string, value as string)),
  define('time.parse_duration_ns', ['string'], ([text]) => normalizeNumber(parseDuration(text as string))),
  define('time.date', [...instantArg], ([value]) => {
    const instant = instantOperand('time.date', value!);
    const civil = toCivil(instant.ns, instant.zone);
    return makeArray([civil.year, civil.month, civil.day]);
  }),
  define('time.clock', [...instantArg], ([value]) => {
    const instant = instantOperand('time.clock', value!);
    const civil = toCivil(instant.ns, instant.zone);
    return makeArray([civil.hour, civil.minute, civil.second]);
  }),
  define('time.weekday', [...instantArg], ([value]) => {
    const instant = instantOperand('time.weekday', value!);
    return longDays[toCivil(instant.ns, instant.zone).weekday]!;
  }),
  define('time.add_date', [['number', 'array'], 'number', 'number', 'number'], ([value, years, months, days]) => {
    const name = 'time.add_date';
    const instant = instantOperand(name, value!);
    const result = addDate(
      instant,
      integerOperand(name, 2, years!),
      integerOperand(name, 3, months!),
      integerOperand(name, 4, days!),
    );
    // OPA's toSafeUnixNano: a result beyond int64 nanoseconds is a builtin error, not undefined.
    if (result === undefined) throw builtinError(name, 'time outside of valid range');
    return normalizeNumber(result);
  }),
  define('time.diff', [['number', 'array'], ['number', 'array']], ([a, b]) =>
    makeArray(diff(instantOperand('time.diff', a!), instantOperand('time.diff', b!))),
  ),
  define('time.format', [...instantArg], ([value]) => {
    const instant = instantOperand('time.format', value!);
    return formatTime(toCivil(instant.ns, instant.zone), layoutNamed(instant.layout ?? namedLayouts.RFC3339Nano!));
  }),
];
