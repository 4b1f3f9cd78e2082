// Go's reference-time layouts ("Mon Jan 2 15:04:05 MST 2006") for time.format and time.parse_ns:
// the layout is cut into the chunks Go recognises, then formatted or parsed chunk by chunk.
import { daysFromCivil, daysInMonth, fixedZone, fromCivil, isLeapYear, utc, type CivilTime, type Zone } from './time-civil.js';

type Chunk =
  | { kind: 'literal'; text: string }
  | { kind: 'std'; std: Std; text: string; digits?: number };

type Std =
  | 'longMonth' | 'month' | 'numMonth' | 'zeroMonth'
  | 'longWeekDay' | 'weekDay'
  | 'day' | 'underDay' | 'zeroDay' | 'underYearDay' | 'zeroYearDay'
  | 'hour' | 'hour12' | 'zeroHour12'
  | 'minute' | 'zeroMinute' | 'second' | 'zeroSecond'
  | 'longYear' | 'year'
  | 'PM' | 'pm' | 'TZ'
  | 'ISO8601TZ' | 'ISO8601ColonTZ' | 'ISO8601ShortTZ' | 'ISO8601SecondsTZ' | 'ISO8601ColonSecondsTZ'
  | 'numTZ' | 'numColonTZ' | 'numShortTZ' | 'numSecondsTz' | 'numColonSecondsTZ'
  | 'fracSecond0' | 'fracSecond9';

const longMonths = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
export const longDays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Go's named layouts, accepted wherever a layout is. */
export const namedLayouts: Readonly<Record<string, string>> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
  Kitchen: '3:04PM',
  Stamp: 'Jan _2 15:04:05',
  StampMilli: 'Jan _2 15:04:05.000',
  StampMicro: 'Jan _2 15:04:05.000000',
  StampNano: 'Jan _2 15:04:05.000000000',
  DateTime: '2006-01-02 15:04:05',
  DateOnly: '2006-01-02',
  TimeOnly: '15:04:05',
};

// Longest first where prefixes collide, as Go's nextStdChunk checks them.
const stdTokens: [string, Std][] = [
  ['January', 'longMonth'], ['Jan', 'month'],
  ['Monday', 'longWeekDay'], ['Mon', 'weekDay'], ['MST', 'TZ'],
  ['002', 'zeroYearDay'], ['01', 'zeroMonth'], ['02', 'zeroDay'], ['03', 'zeroHour12'], ['04', 'zeroMinute'], ['05', 'zeroSecond'], ['06', 'year'],
  ['15', 'hour'], ['1', 'numMonth'],
  ['2006', 'longYear'], ['2', 'day'],
  ['__2', 'underYearDay'], ['_2', 'underDay'],
  ['3', 'hour12'], ['4', 'minute'], ['5', 'second'],
  ['PM', 'PM'], ['pm', 'pm'],
  ['-07:00:00', 'numColonSecondsTZ'], ['-070000', 'numSecondsTz'], ['-07:00', 'numColonTZ'], ['-0700', 'numTZ'], ['-07', 'numShortTZ'],
  ['Z07:00:00', 'ISO8601ColonSecondsTZ'], ['Z070000', 'ISO8601SecondsTZ'], ['Z07:00', 'ISO8601ColonTZ'], ['Z0700', 'ISO8601TZ'], ['Z07', 'ISO8601ShortTZ'],
];

const isDigit = (text: string, i: number) => i < text.length && text[i]! >= '0' && text[i]! <= '9';

const layoutCache = new Map<string, Chunk[]>();

export function parseLayout(layout: string): Chunk[] {
  const cached = layoutCache.get(layout);
  if (cached !== undefined) return cached;
  const chunks: Chunk[] = [];
  let literal = '';
  let i = 0;
  outer: while (i < layout.length) {
    const c = layout[i]!;
    if ((c === '.' || c === ',') && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
      const digit = layout[i + 1]!;
      let j = i + 1;
      while (layout[j] === digit) j++;
      if (!isDigit(layout, j)) {
        if (literal) chunks.push({ kind: 'literal', text: literal });
        literal = '';
        chunks.push({ kind: 'std', std: digit === '0' ? 'fracSecond0' : 'fracSecond9', text: layout.slice(i, j), digits: j - i - 1 });
        i = j;
        continue;
      }
    }
    // "_2006" is a literal underscore and a year, as in Go.
    if (c === '_' && layout.startsWith('2006', i + 1)) {
      literal += '_';
      i++;
      continue;
    }
    for (const [token, std] of stdTokens) {
      if (!layout.startsWith(token, i)) continue;
      if (literal) chunks.push({ kind: 'literal', text: literal });
      literal = '';
      chunks.push({ kind: 'std', std, text: token });
      i += token.length;
      continue outer;
    }
    literal += c;
    i++;
  }
  if (literal) chunks.push({ kind: 'literal', text: literal });
  if (layoutCache.size > 200) layoutCache.clear();
  layoutCache.set(layout, chunks);
  return chunks;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

function formatZone(offset: number, std: Std): string {
  if (std.startsWith('ISO8601') && offset === 0) return 'Z';
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const hh = pad(Math.floor(abs / 3600), 2);
  const mm = pad(Math.floor((abs % 3600) / 60), 2);
  const ss = pad(abs % 60, 2);
  switch (std) {
    case 'ISO8601ShortTZ':
    case 'numShortTZ':
      return sign + hh;
    case 'ISO8601TZ':
    case 'numTZ':
      return sign + hh + mm;
    case 'ISO8601ColonTZ':
    case 'numColonTZ':
      return `${sign}${hh}:${mm}`;
    case 'ISO8601SecondsTZ':
    case 'numSecondsTz':
      return sign + hh + mm + ss;
    default:
      return `${sign}${hh}:${mm}:${ss}`;
  }
}

export function formatTime(time: CivilTime, layout: string): string {
  let out = '';
  for (const chunk of parseLayout(layout)) {
    if (chunk.kind === 'literal') {
      out += chunk.text;
      continue;
    }
    const hour12 = time.hour % 12 === 0 ? 12 : time.hour % 12;
    switch (chunk.std) {
      case 'longMonth':
        out += longMonths[time.month - 1];
        break;
      case 'month':
        out += longMonths[time.month - 1]!.slice(0, 3);
        break;
      case 'numMonth':
        out += time.month;
        break;
      case 'zeroMonth':
        out += pad(time.month, 2);
        break;
      case 'longWeekDay':
        out += longDays[time.weekday];
        break;
      case 'weekDay':
        out += longDays[time.weekday]!.slice(0, 3);
        break;
      case 'day':
        out += time.day;
        break;
      case 'underDay':
        out += String(time.day).padStart(2, ' ');
        break;
      case 'zeroDay':
        out += pad(time.day, 2);
        break;
      case 'underYearDay':
        out += String(time.yearDay).padStart(3, ' ');
        break;
      case 'zeroYearDay':
        out += pad(time.yearDay, 3);
        break;
      case 'hour':
        out += pad(time.hour, 2);
        break;
      case 'hour12':
        out += hour12;
        break;
      case 'zeroHour12':
        out += pad(hour12, 2);
        break;
      case 'minute':
        out += time.minute;
        break;
      case 'zeroMinute':
        out += pad(time.minute, 2);
        break;
      case 'second':
        out += time.second;
        break;
      case 'zeroSecond':
        out += pad(time.second, 2);
        break;
      case 'longYear':
        out += time.year < 0 ? `-${pad(-time.year, 4)}` : pad(time.year, 4);
        break;
      case 'year':
        out += pad(((time.year % 100) + 100) % 100, 2);
        break;
      case 'PM':
        out += time.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += time.hour >= 12 ? 'pm' : 'am';
        break;
      case 'TZ':
        out += time.zone.abbreviationAt(time.unixSeconds);
        break;
      case 'fracSecond0':
        out += chunk.text[0] + pad(time.nanosecond, 9).slice(0, chunk.digits);
        break;
      case 'fracSecond9': {
        const digits = pad(time.nanosecond, 9).slice(0, chunk.digits).replace(/0+$/, '');
        if (digits !== '') out += chunk.text[0] + digits;
        break;
      }
      default:
        out += formatZone(time.offset, chunk.std);
    }
  }
  return out;
}

export class TimeParseError extends Error {}

const quote = (text: string) => JSON.stringify(text);

/** Parses `value` with a Go layout; the zone applies when the value carries no offset. */
export function parseTime(layout: string, value: string, defaultZone: Zone = utc): bigint {
  const fail = (rest: string, chunk: string): never => {
    throw new TimeParseError(`parsing time ${quote(value)} as ${quote(layout)}: cannot parse ${quote(rest)} as ${quote(chunk)}`);
  };
  const outOfRange = (what: string): never => {
    throw new TimeParseError(`parsing time ${quote(value)}: ${what} out of range`);
  };
  let rest = value;
  let year = 0;
  let month = -1;
  let day = -1;
  let yearDay = -1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanosecond = 0;
  let pm: boolean | undefined;
  let offset: number | undefined;
  let zone: Zone | undefined;

  const number = (chunk: string, min: number, max: number, fixed: boolean): number => {
    const match = (fixed ? new RegExp(`^\\d{${max}}`) : new RegExp(`^\\d{${min},${max}}`)).exec(rest);
    if (match === null) return fail(rest, chunk);
    rest = rest.slice(match[0].length);
    return Number(match[0]);
  };
  const name = (chunk: string, names: readonly string[]): number => {
    const index = names.findIndex((candidate) => rest.slice(0, candidate.length).toLowerCase() === candidate.toLowerCase());
    if (index === -1) return fail(rest, chunk);
    rest = rest.slice(names[index]!.length);
    return index;
  };
  const fraction = (): number => {
    const match = /^[.,](\d+)/.exec(rest);
    if (match === null) return 0;
    rest = rest.slice(match[0].length);
    return Number(match[1]!.slice(0, 9).padEnd(9, '0'));
  };

  const chunks = parseLayout(layout);
  for (let index = 0; index < chunks.length; index++) {
    const chunk = chunks[index]!;
    if (chunk.kind === 'literal') {
      if (!rest.startsWith(chunk.text)) fail(rest, chunk.text);
      rest = rest.slice(chunk.text.length);
      continue;
    }
    const text = chunk.text;
    switch (chunk.std) {
      case 'longYear': {
        const match = /^\d{4}/.exec(rest);
        if (match === null) fail(rest, text);
        year = Number(match![0]);
        rest = rest.slice(match![0].length);
        break;
      }
      case 'year': {
        const yy = number(text, 2, 2, true);
        year = yy >= 69 ? 1900 + yy : 2000 + yy;
        break;
      }
      case 'longMonth':
        month = name(text, longMonths) + 1;
        break;
      case 'month':
        month = name(text, longMonths.map((m) => m.slice(0, 3))) + 1;
        break;
      case 'numMonth':
      case 'zeroMonth':
        month = number(text, chunk.std === 'numMonth' ? 1 : 2, 2, chunk.std === 'zeroMonth');
        if (month < 1 || month > 12) outOfRange('month');
        break;
      case 'longWeekDay':
        name(text, longDays);
        break;
      case 'weekDay':
        name(text, longDays.map((d) => d.slice(0, 3)));
        break;
      case 'day':
      case 'underDay':
      case 'zeroDay':
        if (chunk.std === 'underDay' && rest.startsWith(' ')) rest = rest.slice(1);
        day = number(text, chunk.std === 'zeroDay' ? 2 : 1, 2, chunk.std === 'zeroDay');
        break;
      case 'underYearDay':
      case 'zeroYearDay':
        if (chunk.std === 'underYearDay') rest = rest.replace(/^ {1,2}/, '');
        yearDay = number(text, chunk.std === 'zeroYearDay' ? 3 : 1, 3, chunk.std === 'zeroYearDay');
        break;
      case 'hour':
        hour = number(text, 1, 2, false);
        if (hour > 23) outOfRange('hour');
        break;
      case 'hour12':
      case 'zeroHour12':
        hour = number(text, chunk.std === 'zeroHour12' ? 2 : 1, 2, chunk.std === 'zeroHour12');
        if (hour < 0 || hour > 12) outOfRange('hour');
        break;
      case 'minute':
      case 'zeroMinute':
        minute = number(text, chunk.std === 'zeroMinute' ? 2 : 1, 2, chunk.std === 'zeroMinute');
        if (minute > 59) outOfRange('minute');
        break;
      case 'second':
      case 'zeroSecond': {
        second = number(text, chunk.std === 'zeroSecond' ? 2 : 1, 2, chunk.std === 'zeroSecond');
        if (second > 59) outOfRange('second');
        // A fractional second in the value is accepted even when the layout has none (as Go).
        const next = chunks[index + 1];
        if (!(next?.kind === 'std' && next.std.startsWith('fracSecond'))) nanosecond = fraction();
        break;
      }
      case 'fracSecond0': {
        const match = new RegExp(`^[.,](\\d{${chunk.digits}})`).exec(rest);
        if (match === null) fail(rest, text);
        rest = rest.slice(match![0].length);
        nanosecond = Number(match![1]!.slice(0, 9).padEnd(9, '0'));
        break;
      }
      case 'fracSecond9':
        nanosecond = fraction();
        break;
      case 'PM':
      case 'pm': {
        const marker = rest.slice(0, 2);
        const expected = chunk.std === 'PM' ? ['AM', 'PM'] : ['am', 'pm'];
        if (!expected.includes(marker)) fail(rest, text);
        pm = marker === expected[1];
        rest = rest.slice(2);
        break;
      }
      case 'TZ': {
        const match = /^(UTC|GMT[+-]\d{1,2}|[A-Z]{3,5})/.exec(rest);
        if (match === null) fail(rest, text);
        rest = rest.slice(match![0].length);
        const abbreviation = match![0];
        const gmt = /^GMT([+-]\d+)$/.exec(abbreviation);
        offset = gmt ? Number(gmt[1]) * 3600 : 0;
        zone = fixedZone(abbreviation, offset);
        break;
      }
      default: {
        if (chunk.std.startsWith('ISO8601') && rest.startsWith('Z')) {
          rest = rest.slice(1);
          offset = 0;
          zone = utc;
          break;
        }
        const shapes: Record<string, RegExp> = {
          numShortTZ: /^([+-])(\d\d)/,
          ISO8601ShortTZ: /^([+-])(\d\d)/,
          numTZ: /^([+-])(\d\d)(\d\d)/,
          ISO8601TZ: /^([+-])(\d\d)(\d\d)/,
          numColonTZ: /^([+-])(\d\d):(\d\d)/,
          ISO8601ColonTZ: /^([+-])(\d\d):(\d\d)/,
          numSecondsTz: /^([+-])(\d\d)(\d\d)(\d\d)/,
          ISO8601SecondsTZ: /^([+-])(\d\d)(\d\d)(\d\d)/,
          numColonSecondsTZ: /^([+-])(\d\d):(\d\d):(\d\d)/,
          ISO8601ColonSecondsTZ: /^([+-])(\d\d):(\d\d):(\d\d)/,
        };
        const match = shapes[chunk.std]!.exec(rest);
        if (match === null) fail(rest, text);
        rest = rest.slice(match![0].length);
        const [, sign, hh, mm = '0', ss = '0'] = match!;
        if (Number(hh) > 24 || Number(mm) > 60 || Number(ss) > 60) outOfRange('time zone offset');
        offset = (sign === '-' ? -1 : 1) * (Number(hh) * 3600 + Number(mm) * 60 + Number(ss));
        zone = fixedZone('', offset);
      }
    }
  }
  if (rest !== '') throw new TimeParseError(`parsing time ${quote(value)}: extra text: ${quote(rest)}`);
  if (pm !== undefined) {
    if (hour > 12) outOfRange('hour');
    if (pm && hour < 12) hour += 12;
    else if (!pm && hour === 12) hour = 0;
  }
  if (yearDay >= 0) {
    if (yearDay < 1 || yearDay > (isLeapYear(year) ? 366 : 365)) outOfRange('day-of-year');
    const days = daysFromCivil(year, 1, 1) + yearDay - 1;
    const fromYearDay = daysFromCivil(year, 1, 1);
    const monthDay = daysToMonthDay(year, days - fromYearDay);
    if (month >= 0 && month !== monthDay.month) outOfRange('day-of-year');
    if (day >= 0 && day !== monthDay.day) outOfRange('day-of-year');
    month = monthDay.month;
    day = monthDay.day;
  }
  if (month < 0) month = 1;
  if (day < 0) day = 1;
  if (day < 1 || day > daysInMonth(year, month)) outOfRange('day');
  return fromCivil({ year, month, day, hour, minute, second, nanosecond }, zone ?? defaultZone);
}

function daysToMonthDay(year: number, dayIndex: number): { month: number; day: number } {
  let remaining = dayIndex;
  for (let month = 1; month <= 12; month++) {
    const length = daysInMonth(year, month);
    if (remaining < length) return { month, day: remaining + 1 };
    remaining -= length;
  }
  return { month: 12, day: 31 };
}
