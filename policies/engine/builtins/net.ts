// net.cidr_* builtins over IPv4 and IPv6 (see ip-address.ts).
import { isArray, isObject, isSet, makeArray, makeSet, sortedValues, type Value } from '../value.js';
import { blockOf, formatBlock, formatIp, parseCidr, parseCidrOrIp, parseIp, rangeToBlocks, type IpBlock } from './ip-address.js';
import { builtinError, define } from './support.js';

/** Addresses net.cidr_expand lists at most (a /16): a bigger block is refused, not allocated. */
export const maxExpandedAddresses = 65_536n;

function cidrOperand(name: string, text: string): IpBlock {
  const block = parseCidr(text);
  if (block === undefined) throw builtinError(name, `invalid CIDR address: ${text}`);
  return block;
}

function cidrOrIpOperand(name: string, text: string): IpBlock {
  const block = parseCidrOrIp(text);
  if (block === undefined) throw builtinError(name, `invalid CIDR address or IP: ${text}`);
  return block;
}

function contains(outer: IpBlock, inner: IpBlock): boolean {
  return outer.version === inner.version && outer.first <= inner.first && inner.last <= outer.last;
}

function intersects(a: IpBlock, b: IpBlock): boolean {
  return a.version === b.version && a.first <= b.last && b.first <= a.last;
}

/**
 * A net.cidr_merge operand: a CIDR, or a bare IPv4 address taken with its classful default mask
 * (/8, /16 or /24 by its first octet), as OPA does (Go's `IP.DefaultMask`). A bare IPv6 address
 * has no default mask and is an error.
 */
function mergeOperand(name: string, text: string): IpBlock {
  if (text.includes('/')) return cidrOperand(name, text);
  const address = parseIp(text);
  if (address === undefined) throw builtinError(name, `invalid CIDR address or IP: ${text}`);
  if (address.version === 6) throw builtinError(name, 'IPv6 invalid: needs prefix length');
  const firstOctet = Number(address.value >> 24n);
  const prefix = firstOctet < 128 ? 8 : firstOctet < 192 ? 16 : firstOctet < 224 ? 24 : 32;
  return blockOf(4, address.value, prefix);
}

// Any other operand is OPA's plain builtin error, not an operand type error.
function merge(name: string, addresses: Value): Value {
  if (!isSet(addresses) && !Array.isArray(addresses)) throw builtinError(name, 'operand must be an array');
  const items = isSet(addresses) ? sortedValues(addresses) : [...(addresses as readonly Value[])];
  const blocks = items.map((item) => {
    if (typeof item !== 'string') throw builtinError(name, `IP address or CIDR expected, got ${JSON.stringify(item)}`);
    return mergeOperand(name, item);
  });
  const out: string[] = [];
  for (const version of [4, 6] as const) {
    const ranges = blocks
      .filter((block) => block.version === version)
      .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    let current: [bigint, bigint] | undefined;
    const flush = () => {
      if (current !== undefined) out.push(...rangeToBlocks(version, current[0], current[1]).map(formatBlock));
    };
    for (const block of ranges) {
      if (current !== undefined && block.first <= current[1] + 1n) {
        if (block.last > current[1]) current[1] = block.last;
      } else {
        flush();
        current = [block.first, block.last];
      }
    }
    flush();
  }
  return makeSet(out);
}

/**
 * Keyed entries of a cidr_contains_matches operand, as OPA's getCIDRMatchTerm reads them: strings
 * key themselves, arrays by index, sets by element, objects by key; an element is a string or a
 * non-empty array whose first item is the CIDR. Entries are read one at a time (a generator), so
 * a bad element fails only when it is reached, as in OPA's nested iteration.
 */
function* keyedCidrs(name: string, position: number, value: Value): Generator<[Value, string]> {
  const entry = (key: Value, item: Value): [Value, string] => {
    if (isArray(item) && item.length === 0) throw builtinError(name, `operand ${position}: element must be string or non-empty array`);
    if (typeof item !== 'string' && !isArray(item)) throw builtinError(name, `operand ${position}: element must be string or non-empty array`);
    const text = isArray(item) ? item[0] : item;
    if (typeof text !== 'string') throw builtinError(name, `CIDR or IP expected, got ${JSON.stringify(text)}`);
    return [key, text];
  };
  if (typeof value === 'string') yield [value, value];
  else if (isArray(value)) for (const [index, item] of value.entries()) yield entry(index, item);
  else if (isSet(value)) for (const item of sortedValues(value)) yield entry(item, item);
  else if (isObject(value)) for (const [key, item] of value.entries()) yield entry(key, item);
}

export const netBuiltins = [
  define('net.cidr_contains', ['string', 'string'], ([cidr, x]) =>
    contains(cidrOperand('net.cidr_contains', cidr as string), cidrOrIpOperand('net.cidr_contains', x as string)),
  ),
  define('net.cidr_intersects', ['string', 'string'], ([a, b]) =>
    intersects(cidrOperand('net.cidr_intersects', a as string), cidrOperand('net.cidr_intersects', b as string)),
  ),
  define('net.cidr_is_valid', ['string'], ([cidr]) => parseCidr(cidr as string) !== undefined),
  define('net.cidr_merge', ['any'], ([addresses]) => merge('net.cidr_merge', addresses!)),
  define('net.cidr_expand', ['string'], ([cidr]) => {
    const block = cidrOperand('net.cidr_expand', cidr as string);
    if (block.last - block.first + 1n > maxExpandedAddresses) {
      throw builtinError('net.cidr_expand', `${cidr as string} has more than ${maxExpandedAddresses} addresses`);
    }
    const out: string[] = [];
    for (let value = block.first; value <= block.last; value++) out.push(formatIp(block.version, value));
    return makeSet(out);
  }),
  define('net.cidr_contains_matches', [['string', 'array', 'set', 'object'], ['string', 'array', 'set', 'object']], ([a, b]) => {
    const name = 'net.cidr_contains_matches';
    // OPA walks operand 2 once for each entry of operand 1.
    const pairs: Value[] = [];
    for (const [outerKey, outerText] of keyedCidrs(name, 1, a!)) {
      // Both are read at the comparison, as OPA's net.cidr_contains call reads them.
      let outerBlock: ReturnType<typeof cidrOrIpOperand> | undefined;
      for (const [innerKey, innerText] of keyedCidrs(name, 2, b!)) {
        outerBlock ??= cidrOrIpOperand(name, outerText);
        if (contains(outerBlock, cidrOrIpOperand(name, innerText))) pairs.push(makeArray([outerKey, innerKey]));
      }
    }
    return makeSet(pairs);
  }),
];
