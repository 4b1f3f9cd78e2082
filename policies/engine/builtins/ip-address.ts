// IP addresses and CIDR blocks as integers (32-bit IPv4, 128-bit IPv6, in bigint), parsed with
// Go's strictness (no leading zeros, no zones) and printed as Go prints them (RFC 5952).
import { isIPv4, isIPv6 } from 'node:net';

export interface IpBlock {
  readonly version: 4 | 6;
  /** First address (the network). */
  readonly first: bigint;
  readonly last: bigint;
  readonly prefix: number;
}

const bits = (version: 4 | 6) => (version === 4 ? 32 : 128);

/** An address as [version, value]; IPv4-mapped IPv6 counts as IPv4, as Go's To4. */
export function parseIp(text: string): { version: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { version: 4, value: ipv4Value(text) };
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const value = ipv6Value(text);
  if (value >> 32n === 0xffffn) return { version: 4, value: value & 0xffff_ffffn };
  return { version: 6, value };
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(text: string): bigint {
  let body = text;
  // A trailing dotted quad (::ffff:1.2.3.4) is the last two groups.
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4Value(tail);
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = body.includes('::') ? (body.split('::') as [string, string]) : [body, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((group) => BigInt(parseInt(group, 16))) : []);
  const left = groups(head);
  const right = groups(rest);
  const all = rest === undefined ? left : [...left, ...new Array<bigint>(8 - left.length - right.length).fill(0n), ...right];
  return all.reduce((acc, group) => (acc << 16n) | group, 0n);
}

export function parseCidr(text: string): IpBlock | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  const address = parseIpStrict(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bits(address.version)) return undefined;
  return blockOf(address.version, address.value, prefix);
}

/** Like parseIp but keeps IPv4-mapped IPv6 CIDRs as IPv6 (their prefix counts 128 bits). */
function parseIpStrict(text: string): { version: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { version: 4, value: ipv4Value(text) };
  if (!isIPv6(text) || text.includes('%')) return undefined;
  return { version: 6, value: ipv6Value(text) };
}

export function blockOf(version: 4 | 6, value: bigint, prefix: number): IpBlock {
  const hostBits = BigInt(bits(version) - prefix);
  const first = (value >> hostBits) << hostBits;
  return { version, first, last: first + (1n << hostBits) - 1n, prefix };
}

/** A CIDR, or a single address as a full-length block. */
export function parseCidrOrIp(text: string): IpBlock | undefined {
  if (text.includes('/')) return parseCidr(text);
  const address = parseIp(text);
  return address === undefined ? undefined : blockOf(address.version, address.value, bits(address.version));
}

export function formatIp(version: 4 | 6, value: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: the longest run (of two or more) of zero groups, the first if tied, becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function formatBlock(block: IpBlock): string {
  return `${formatIp(block.version, block.first)}/${block.prefix}`;
}

/** The fewest CIDR blocks that cover exactly [first, last]. */
export function rangeToBlocks(version: 4 | 6, first: bigint, last: bigint): IpBlock[] {
  const width = bits(version);
  const blocks: IpBlock[] = [];
  let start = first;
  while (start <= last) {
    let size = 0;
    while (size < width && (start & ((1n << BigInt(size + 1)) - 1n)) === 0n && start + (1n << BigInt(size + 1)) - 1n <= last) size++;
    blocks.push(blockOf(version, start, width - size));
    start += 1n << BigInt(size);
  }
  return blocks;
}
