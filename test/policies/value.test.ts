import { describe, expect, it } from 'vitest';
import {
  compare,
  equals,
  fromJSON,
  makeArray,
  makeObject,
  makeSet,
  normalizeNumber,
  RegoObject,
  toJSONText,
  typeName,
} from '../../policies/engine/value.js';

describe('Rego values', () => {
  it('orders types as OPA does: null < boolean < number < string < array < object < set', () => {
    const ordered = [null, false, 1, 'a', makeArray([]), RegoObject.empty, makeSet([])];
    const shuffled = [...ordered].reverse().sort(compare);
    expect(shuffled.map(typeName)).toEqual(ordered.map(typeName));
  });

  it('treats composite keys and members by value', () => {
    const set = makeSet([makeArray([1, 2]), makeArray([1, 2]), makeObject([['a', 1]])]);
    expect(set.size).toBe(2);
    expect(set.has(makeArray([1, 2]))).toBe(true);
    const object = makeObject([[makeArray([1]), 'x']]);
    expect(object.get(makeArray([1]))).toBe('x');
    expect(object.get('[1]')).toBeUndefined();
  });

  it('compares numbers by value across representations', () => {
    expect(equals(1, 1.0)).toBe(true);
    expect(equals(normalizeNumber(5n), 5)).toBe(true);
    expect(compare(2n ** 64n, Number.MAX_SAFE_INTEGER)).toBe(1);
    expect(toJSONText(2n ** 64n)).toBe('18446744073709551616');
  });

  it('keeps keys like __proto__ and constructor as plain data', () => {
    const value = fromJSON(JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}'));
    expect(value).toBeInstanceOf(RegoObject);
    const object = value as RegoObject;
    expect(object.size).toBe(2);
    expect(object.get('constructor')).toBe(1);
    expect(object.get('toString')).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('prints JSON with sorted keys and sets as sorted arrays', () => {
    const value = makeObject([
      ['b', makeSet([3, 1, 2])],
      ['a', null],
    ]);
    expect(toJSONText(value)).toBe('{"a":null,"b":[1,2,3]}');
  });
});
