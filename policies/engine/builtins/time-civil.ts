// Civil-time arithmetic for the time builtins: instants are bigint nanoseconds since the epoch
// (any int64 value), calendar fields come from the proleptic Gregorian calendar, and IANA time
// zones are resolved through Intl (offsets looked up per instant, so DST is honoured).

export const nsPerSecond = 1_000_000_000n;
const minInt64 = -(2n ** 63n);
const maxInt64 = 2n ** 63n - 1n;

export function inInt64Range(ns: bigint): boolean {
  return ns >= minInt64 && ns <= maxInt64;
}

/** Days since 1970-01-01 of a civil date (month 1-12; day may overflow the month). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + 1 - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468 + (day - 1);
}

export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** A time zone: a fixed offset (UTC, numeric offsets) or an IANA zone resolved by Intl. */
export interface Zone {
  readonly name: string;
  /** Offset east of UTC in seconds at the given Unix second. */
  offsetAt(unixSeconds: number): number;
  /** Abbreviation as Go prints it for MST layouts. */
  abbreviationAt(unixSeconds: number): string;
}

export function fixedZone(name: string, offsetSeconds: number): Zone {
  return { name, offsetAt: () => offsetSeconds, abbreviationAt: () => name };
}

export const utc = fixedZone('UTC', 0);

const zoneCache = new Map<string, Zone>();

/** The zone for a name as OPA accepts it: "" and "UTC" are UTC, "Local" the host's zone, else IANA. */
export function zoneByName(name: string): Zone | undefined {
  if (name === '' || name === 'UTC') return utc;
  const resolved = name === 'Local' ? Intl.DateTimeFormat().resolvedOptions().timeZone : name;
  const cached = zoneCache.get(resolved);
  if (cached !== undefined) return cached;
  let parts: Intl.DateTimeFormat;
  let names: Intl.DateTimeFormat;
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: resolved,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    names = new Intl.DateTimeFormat('en-US', { timeZone: resolved, timeZoneName: 'short' });
  } catch {
    return undefined;
  }
  const offsetAt = (unixSeconds: number): number => {
    const fields: Record<string, string> = Object.create(null);
    for (const part of parts.formatToParts(new Date(unixSeconds * 1000))) fields[part.type] = part.value;
    const year = fields.era === 'BC' ? 1 - Number(fields.year) : Number(fields.year);
    const local =
      daysFromCivil(year, Number(fields.month), Number(fields.day)) * 86400 +
      Number(fields.hour) * 3600 +
      Number(fields.minute) * 60 +
      Number(fields.second);
    return local - unixSeconds;
  };
  const abbreviationAt = (unixSeconds: number): string => {
    const label = names.formatToParts(new Date(unixSeconds * 1000)).find((part) => part.type === 'timeZoneName')?.value;
    if (label !== undefined && !label.startsWith('GMT')) return label;
    // ICU's bare "GMT" is a zone at Greenwich time, which the tz database names GMT too (London
    // in winter, Abidjan); "UTC" is only for UTC itself.
    if (label === 'GMT') return 'GMT';
    // Zones without a letter abbreviation print their offset, as Go's tzdata does (e.g. "+03").
    return offsetName(offsetAt(unixSeconds));
  };
  const zone: Zone = { name: resolved, offsetAt, abbreviationAt };
  zoneCache.set(resolved, zone);
  return zone;
}

function offsetName(offset: number): string {
  if (offset === 0) return 'UTC';
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const hours = String(Math.floor(abs / 3600)).padStart(2, '0');
  const minutes = Math.floor((abs % 3600) / 60);
  return `${sign}${hours}${minutes === 0 ? '' : String(minutes).padStart(2, '0')}`;
}

/** Calendar fields of an instant in a zone. */
export interface CivilTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly nanosecond: number;
  /** 0 = Sunday. */
  readonly weekday: number;
  /** 1-366. */
  readonly yearDay: number;
  readonly offset: number;
  readonly zone: Zone;
  readonly unixSeconds: number;
}

export function toCivil(ns: bigint, zone: Zone): CivilTime {
  let seconds = ns / nsPerSecond;
  let nanos = ns % nsPerSecond;
  if (nanos < 0n) {
    nanos += nsPerSecond;
    seconds -= 1n;
  }
  const unixSeconds = Number(seconds);
  const offset = zone.offsetAt(unixSeconds);
  const local = unixSeconds + offset;
  const days = Math.floor(local / 86400);
  const secondOfDay = local - days * 86400;
  const { year, month, day } = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(secondOfDay / 3600),
    minute: Math.floor((secondOfDay % 3600) / 60),
    second: secondOfDay % 60,
    nanosecond: Number(nanos),
    weekday: (((days + 4) % 7) + 7) % 7,
    yearDay: days - daysFromCivil(year, 1, 1) + 1,
    offset,
    zone,
    unixSeconds,
  };
}

/**
 * The instant of a wall-clock time in a zone (fields may overflow, as Go's time.Date normalises
 * them). Within a DST gap or overlap, the offset in force just before is used, as in Go.
 */
export function fromCivil(
  fields: { year: number; month: number; day: number; hour: number; minute: number; second: number; nanosecond: number },
  zone: Zone,
): bigint {
  const monthIndex = fields.month - 1;
  const year = fields.year + Math.floor(monthIndex / 12);
  const month = (((monthIndex % 12) + 12) % 12) + 1;
  const local =
    daysFromCivil(year, month, 1) * 86400 +
    (fields.day - 1) * 86400 +
    fields.hour * 3600 +
    fields.minute * 60 +
    fields.second;
  let unix = local - zone.offsetAt(local);
  const corrected = local - zone.offsetAt(unix);
  if (corrected !== unix && zone.offsetAt(corrected) === local - corrected) unix = corrected;
  return BigInt(unix) * nsPerSecond + BigInt(fields.nanosecond);
}
