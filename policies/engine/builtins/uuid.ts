// uuid.rfc4122 (a random v4 UUID, the same for the same key within one evaluation) and
// uuid.parse (fields of a UUID as OPA reports them from Go's google/uuid; undefined if invalid).
import { randomUUID } from 'node:crypto';
import { makeObject, normalizeNumber, type Value } from '../value.js';
import { define } from './support.js';

/** 100-nanosecond intervals from the Gregorian epoch (1582-10-15) to the Unix epoch. */
const gregorianOffset = 122_192_928_000_000_000n;

function uuidBytes(text: string): Buffer | undefined {
  let hex: string;
  if (text.length === 36) hex = dashed(text);
  else if (text.length === 38 && text.startsWith('{') && text.endsWith('}')) hex = dashed(text.slice(1, -1));
  else if (text.length === 45 && text.toLowerCase().startsWith('urn:uuid:')) hex = dashed(text.slice(9));
  else if (text.length === 32) hex = text;
  else return undefined;
  return /^[0-9a-fA-F]{32}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

function dashed(text: string): string {
  if (text[8] !== '-' || text[13] !== '-' || text[18] !== '-' || text[23] !== '-') return '';
  return text.replace(/-/g, '');
}

function variantName(byte: number): string {
  if ((byte & 0xc0) === 0x80) return 'RFC4122';
  if ((byte & 0xe0) === 0xc0) return 'Microsoft';
  if ((byte & 0xe0) === 0xe0) return 'Future';
  return 'Reserved';
}

/** The UUID's timestamp in 100ns intervals since the Gregorian epoch (google/uuid's Time). */
function gregorianTime(bytes: Buffer, version: number): bigint {
  const first = bytes.readBigUInt64BE(0);
  if (version === 7) return (first >> 16n) * 10_000n + gregorianOffset;
  if (version === 6) return ((first >> 16n) << 12n) | (first & 0xfffn);
  const low = BigInt(bytes.readUInt32BE(0));
  const mid = BigInt(bytes.readUInt16BE(4));
  const high = BigInt(bytes.readUInt16BE(6) & 0xfff);
  return low | (mid << 32n) | (high << 48n);
}

function parseUuid(text: string): Value | undefined {
  const bytes = uuidBytes(text);
  if (bytes === undefined) return undefined;
  const version = bytes[6]! >> 4;
  const fields: [string, Value][] = [
    ['version', version],
    ['variant', variantName(bytes[8]!)],
  ];
  if ([1, 2, 6, 7].includes(version)) {
    const sinceUnix = gregorianTime(bytes, version) - gregorianOffset;
    fields.push(['time', normalizeNumber(sinceUnix * 100n)]);
  }
  if (version === 1 || version === 2) {
    const node = bytes.subarray(10, 16);
    fields.push(['nodeid', [...node].map((b) => b.toString(16).padStart(2, '0')).join('-')]);
    fields.push(['macvariables', `${node[0]! & 0x02 ? 'local' : 'global'}:${node[0]! & 0x01 ? 'multicast' : 'unicast'}`]);
    fields.push(['clocksequence', bytes.readUInt16BE(8) & 0x3fff]);
  }
  if (version === 2) {
    fields.push(['id', bytes.readUInt32BE(0)]);
    const domain = bytes[9]!;
    fields.push(['domain', ['Person', 'Group', 'Org'][domain] ?? `Domain${domain}`]);
  }
  return makeObject(fields);
}

export const uuidBuiltins = [
  define(
    'uuid.rfc4122',
    ['string'],
    ([key], context) => {
      const memoKey = `uuid.rfc4122\u0000${key as string}`;
      const known = context.cache.get(memoKey);
      if (known !== undefined) return known;
      const generated = randomUUID();
      context.cache.set(memoKey, generated);
      return generated;
    },
    { nondeterministic: true },
  ),
  define('uuid.parse', ['string'], ([text]) => parseUuid(text as string)),
];
