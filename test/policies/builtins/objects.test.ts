import { describe, expect, it } from 'vitest';
import { makeArray, makeObject, makeSet } from '../../../policies/engine/value.js';
import { call, expectCall, expectFailure, v } from './call-builtin.js';

const mixed = makeObject([
  ['a', 5],
  ['b', v({ c: 8 })],
  [makeSet([1]), 8],
  [v({ a: 5 }), 9],
  [true, false],
  [null, 5],
]);

describe('object builtins', () => {
  it('object.get looks up plain and composite keys, and treats an array key as a path', () => {
    expect(call('object.get', mixed, 'a', 'd')).toBe(5);
    expect(call('object.get', mixed, v(['b', 'c']), 'd')).toBe(8);
    expect(call('object.get', mixed, v(['a', 'b']), 'd')).toBe('d');
    expect(call('object.get', mixed, v({ a: 5 }), 'd')).toBe(9);
    expect(call('object.get', mixed, null, 'd')).toBe(5);
    expectCall('object.get', [mixed, v([]), 'd'], mixed);
    expect(call('object.get', v({ a: [10, { b: 1 }] }), v(['a', 1, 'b']), 0)).toBe(1);
    expect(call('object.get', v({ a: [10] }), v(['a', 5]), 'none')).toBe('none');
    expect(call('object.get', v({ a: false }), 'a', true)).toBe(false);
    // A null value is found (as OPA): only an absent key gives the default.
    expect(call('object.get', v({ a: null }), 'a', 'd')).toBeNull();
    expect(call('object.get', v({ a: { b: null } }), v(['a', 'b']), 'd')).toBeNull();
    expectFailure('object.get', ['x', 'a', 1], 'eval_type_error', 'object.get: operand 1 must be object but got string');
  });

  it('object.keys returns the set of keys', () => {
    expectCall('object.keys', [v({ a: 1, b: 2 })], makeSet(['a', 'b']));
    expectCall('object.keys', [v({})], makeSet([]));
  });

  it('object.remove and object.filter take keys from an array, set or object', () => {
    const removed = makeObject([...mixed.entries()].filter(([key]) => key !== 'a' && key !== true));
    expectCall('object.remove', [mixed, v(['a', true])], removed);
    expectCall('object.remove', [mixed, makeSet(['a', true])], removed);
    expectCall('object.remove', [mixed, makeObject([['a', 0], [true, 0]])], removed);
    expectCall('object.filter', [mixed, makeArray(['a', makeSet([1])])], makeObject([['a', 5], [makeSet([1]), 8]]));
    expectCall('object.filter', [v({ a: 1, c: 2, d: 3 }), v({ a: 0, c: 0 })], v({ a: 1, c: 2 }));
    expectFailure('object.remove', [v({}), 'a'], 'eval_type_error', 'object.remove: operand 2 must be one of {object, set, array} but got string');
    // OPA names the key collections in this order (a type error from input, fifth held-out round).
    expectFailure('object.filter', [v({ a: 1 }), null], 'eval_type_error', 'object.filter: operand 2 must be one of {object, set, array} but got null');
  });

  it('object.union merges recursively with the right side winning', () => {
    expectCall('object.union', [v({ a: 1, b: { c: 1, d: 1 } }), v({ b: { d: 2, e: 3 }, f: 4 })], v({ a: 1, b: { c: 1, d: 2, e: 3 }, f: 4 }));
    expectCall('object.union', [v({ a: { b: 1 } }), v({ a: 2 })], v({ a: 2 }));
    expectCall('object.union_n', [v([{ a: 1 }, { a: { b: 1 } }, { a: { c: 2 } }])], v({ a: { b: 1, c: 2 } }));
    expectCall('object.union_n', [v([])], v({}));
    const many = Array.from({ length: 200_000 }, (_, i) => ({ [`k${i % 1000}`]: i }));
    expect(call('count', call('object.union_n', v(many))!)).toBe(1000);
    expectFailure('object.union_n', [v([{}, 1])], 'eval_type_error', 'object.union_n: operand 1 must be array of objects but got array containing number');
  });

  it('object.subset handles objects, sets, arrays (contiguous) and an array with a set, as OPA', () => {
    expect(call('object.subset', v({ a: { b: 1, c: 2 }, d: 3 }), v({ a: { b: 1 } }))).toBe(true);
    expect(call('object.subset', v({ a: 1 }), v({ a: 2 }))).toBe(false);
    expect(call('object.subset', v([1, 2, 3, 4]), v([2, 3]))).toBe(true);
    expect(call('object.subset', v([1, 2, 3, 4]), v([2, 4]))).toBe(false);
    expect(call('object.subset', v([3, 2, 1]), makeSet([1, 3]))).toBe(true);
    expect(call('object.subset', v([3, 2]), makeSet([1, 3]))).toBe(false);
    // OPA counts a repeated array element again, and an empty array holds not even the empty set.
    expect(call('object.subset', v([1, 1]), makeSet([1, 2]))).toBe(true);
    expect(call('object.subset', v([]), makeSet([]))).toBe(false);
    expect(call('object.subset', makeSet([1, 2]), makeSet([3]))).toBe(false);
    // Nested values: objects, sets and arrays recurse; an array under a set key does not.
    expect(call('object.subset', v({ a: [1, 2, 3] }), v({ a: [2, 3] }))).toBe(true);
    expect(call('object.subset', v({ a: makeSet([1, 2]) }), v({ a: makeSet([2]) }))).toBe(true);
    expect(call('object.subset', v({ a: [1, 2] }), v({ a: makeSet([2]) }))).toBe(false);
    const refused = 'object.subset: both arguments object.subset must be of the same type or array and set';
    expectFailure('object.subset', [v([1]), v({})], 'eval_type_error', refused);
    expectFailure('object.subset', [makeSet([1, 2, 3]), v([3, 1])], 'eval_type_error', refused);
  });

  it('keys that look like JavaScript prototype members are plain data', () => {
    const hostile = v(JSON.parse('{"__proto__": {"polluted": 1}, "constructor": 2}'));
    expect(call('object.get', hostile, v(['__proto__', 'polluted']), 0)).toBe(1);
    expect(call('object.get', v({}), 'constructor', 'absent')).toBe('absent');
    expect(call('object.get', v({}), v(['toString']), 'absent')).toBe('absent');
    expectCall('object.union', [v({}), hostile], hostile);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('json document builtins', () => {
  const doc = v({ a: { b: 1, c: [{ d: 1, e: 2 }, { d: 3 }] }, f: 'x', 'g/h': 4 });

  it('json.filter keeps the listed paths (strings or arrays), through arrays by index', () => {
    expectCall('json.filter', [doc, v(['a/b', 'f'])], v({ a: { b: 1 }, f: 'x' }));
    expectCall('json.filter', [doc, v(['a/c/0/d'])], v({ a: { c: [{ d: 1 }] } }));
    expectCall('json.filter', [doc, makeSet([v(['a', 'c', 1]), 'g~1h'])], v({ a: { c: [{ d: 3 }] }, 'g/h': 4 }));
    expectCall('json.filter', [doc, v(['a', 'a/b'])], v({ a: { b: 1, c: [{ d: 1, e: 2 }, { d: 3 }] } }));
    expectCall('json.filter', [doc, v(['nope'])], v({}));
    expectFailure('json.filter', [doc, v([1])], 'eval_type_error', 'json.filter: operand 2 must be one of {set, array} containing string paths or array of path segments but got number');
    expectFailure('json.remove', [doc, v(['a', { x: 1 }])], 'eval_type_error', 'json.remove: operand 2 must be one of {set, array} containing string paths or array of path segments but got object');
    expectFailure('json.remove', [doc, 'a'], 'eval_type_error', 'json.remove: operand 2 must be one of {set, array} but got string');
  });

  it('json.remove drops the listed paths', () => {
    expectCall('json.remove', [doc, v(['a/c', 'f', 'g~1h'])], v({ a: { b: 1 } }));
    expectCall('json.remove', [doc, v([['a', 'c', 0, 'e']])], v({ a: { b: 1, c: [{ d: 1 }, { d: 3 }] }, f: 'x', 'g/h': 4 }));
    expectCall('json.remove', [doc, v(['/a/c/1'])], v({ a: { b: 1, c: [{ d: 1, e: 2 }] }, f: 'x', 'g/h': 4 }));
    expectCall('json.remove', [doc, v(['missing/x'])], doc);
  });

  it('json.patch applies RFC 6902 operations in order', () => {
    const patched = call(
      'json.patch',
      v({ a: { b: [1, 2] } }),
      v([
        { op: 'add', path: '/a/c', value: 3 },
        { op: 'add', path: '/a/b/-', value: 9 },
        { op: 'add', path: '/a/b/0', value: 0 },
        { op: 'replace', path: '/a/c', value: 4 },
        { op: 'copy', from: '/a/c', path: '/x' },
        { op: 'move', from: '/x', path: '/y' },
        { op: 'remove', path: ['a', 'b', 1] },
        { op: 'test', path: '/y', value: 4 },
      ]),
    );
    expectCall('equal', [patched!, v({ a: { b: [0, 2, 9], c: 4 }, y: 4 })], true);
    expectCall('json.patch', [v({ a: 1 }), v([{ op: 'replace', path: '', value: 'root' }])], 'root');
    expectCall('json.patch', [makeSet([1, 2]), v([{ op: 'remove', path: [1] }])], makeSet([2]));
  });

  it('json.patch names a set member by itself: adding one means a last step equal to the value, and a member is a step into it', () => {
    expectCall('json.patch', [makeSet([1]), v([{ op: 'add', path: [2], value: 2 }])], makeSet([1, 2]));
    expectCall('json.patch', [v({ foo: makeSet(['a']) }), v([{ op: 'add', path: 'foo/d', value: 'd' }])], v({ foo: makeSet(['a', 'd']) }));
    expectCall('json.patch', [v({ foo: makeSet(['a']) }), v([{ op: 'add', path: 'foo/d', value: 'e' }])], undefined);
    expectCall('json.patch', [makeSet([1]), v([{ op: 'add', path: '/2', value: 2 }])], undefined);
    expectCall('json.patch', [makeSet([v([1])]), v([{ op: 'add', path: [v([1]), 1], value: 2 }])], makeSet([v([1, 2])]));
    expectCall('json.patch', [v({ foo: makeSet(['a', 'b']), bar: makeSet(['c']) }), v([{ op: 'move', from: 'foo/a', path: 'bar/a' }])], v({ foo: makeSet(['b']), bar: makeSet(['a', 'c']) }));
  });

  it('json.patch is undefined when a patch cannot apply', () => {
    expectCall('json.patch', [v({ a: 1 }), v([{ op: 'test', path: '/a', value: 2 }])], undefined);
    expectCall('json.patch', [v({ a: 1 }), v([{ op: 'remove', path: '/b' }])], undefined);
    expectCall('json.patch', [v({ a: 1 }), v([{ op: 'replace', path: '/b', value: 1 }])], undefined);
    expectCall('json.patch', [v({ a: [1] }), v([{ op: 'add', path: '/a/5', value: 1 }])], undefined);
    expectCall('json.patch', [v({ a: 1 }), v([{ op: 'bogus', path: '/a' }])], undefined);
    expectCall('json.patch', [v({ a: 1 }), v(['not an object'])], undefined);
    expectFailure('json.patch', [v({}), v({})], 'eval_type_error', 'json.patch: operand 2 must be array but got object');
  });
});
