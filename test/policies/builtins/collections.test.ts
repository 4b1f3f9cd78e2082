import { describe, expect, it } from 'vitest';
import { makeArray, makeSet } from '../../../policies/engine/value.js';
import { call, callIn, expectCall, expectFailure, makeContext, registry, v } from './call-builtin.js';

describe('array builtins', () => {
  it('array.concat, array.reverse', () => {
    expectCall('array.concat', [v([1]), v([2, 3])], v([1, 2, 3]));
    expectCall('array.concat', [v([]), v([])], v([]));
    expectCall('array.reverse', [v([1, 2, 3])], v([3, 2, 1]));
    expectFailure('array.concat', [1, v([2])], 'eval_type_error', 'array.concat: operand 1 must be array but got number');
    expectFailure('array.reverse', [makeSet([])], 'eval_type_error', 'array.reverse: operand 1 must be array but got set');
  });

  it('array.slice clamps its bounds like OPA', () => {
    const a = v([0, 1, 2, 3]);
    expectCall('array.slice', [a, 1, 3], v([1, 2]));
    expectCall('array.slice', [a, -5, 2], v([0, 1]));
    expectCall('array.slice', [a, 2, 100], v([2, 3]));
    expectCall('array.slice', [a, 3, 1], v([]));
    expectFailure('array.slice', [a, 0.5, 1], 'eval_type_error', 'array.slice: operand 2 must be integer number');
  });
});

describe('set builtins', () => {
  it('intersection and union of a set of sets', () => {
    expectCall('intersection', [makeSet([makeSet([1, 2, 3]), makeSet([2, 3]), makeSet([3, 2, 9])])], makeSet([2, 3]));
    expectCall('intersection', [makeSet([])], makeSet([]));
    expectCall('union', [makeSet([makeSet([1]), makeSet([2, makeArray([1])])])], makeSet([1, 2, makeArray([1])]));
    expectCall('union', [makeSet([])], makeSet([]));
    expectFailure('union', [makeSet([1])], 'eval_type_error', 'union: operand 1 must be set of sets but got set containing number');
    expectFailure('intersection', [v([])], 'eval_type_error', 'intersection: operand 1 must be set but got array');
  });
});

describe('type builtins', () => {
  it('is_<type> answers true or false and type_name names every type', () => {
    const items = [null, true, 0, 'abc', v([]), v({}), makeSet([])];
    const names = ['null', 'boolean', 'number', 'string', 'array', 'object', 'set'];
    expect(items.map((item) => call('type_name', item))).toEqual(names);
    for (const name of names) {
      expect(items.map((item) => call(`is_${name}`, item))).toEqual(names.map((other) => other === name));
    }
    expect(call('is_number', 2n ** 70n)).toBe(true);
  });
});

describe('graph builtins', () => {
  const graph = v({ a: ['b', 'c'], b: ['d'], c: [], d: ['a'], e: ['f'] });

  it('graph.reachable follows edges from the initial vertices, cycles included', () => {
    expectCall('graph.reachable', [graph, v(['a'])], makeSet(['a', 'b', 'c', 'd']));
    expectCall('graph.reachable', [graph, makeSet(['e'])], makeSet(['e']));
    expectCall('graph.reachable', [graph, v(['zz'])], makeSet([]));
    // OPA's wording names the two types as one phrase.
    expectFailure('graph.reachable', [graph, 'a'], 'eval_type_error', 'graph.reachable: operand 2 must be {array, set} but got string');
    expectFailure('graph.reachable_paths', [graph, 1], 'eval_type_error', 'graph.reachable_paths: operand 2 must be {array, set} but got number');
    expectCall('graph.reachable', [v({ a: makeSet(['b']), b: null }), v(['a'])], makeSet(['a', 'b']));
    expectFailure('graph.reachable', [v([]), v([])], 'eval_type_error', 'graph.reachable: operand 1 must be object but got array');
  });

  it('graph.reachable_paths lists the paths out of each initial vertex', () => {
    expectCall(
      'graph.reachable_paths',
      [graph, v(['a'])],
      makeSet([v(['a', 'b', 'd']), v(['a', 'c'])]),
    );
    expectCall('graph.reachable_paths', [graph, v(['e'])], makeSet([v(['e'])]));
  });

  it("graph.reachable_paths keeps one reached set per first edge, shared by that edge's branches (OPA's path builder)", () => {
    const cyclic = v({ a: ['b', 'e'], b: ['d'], c: ['gone'], d: ['c'], e: ['g', 'f'], f: ['i', 'g'], g: ['h'], h: ['c'], i: [] });
    expectCall(
      'graph.reachable_paths',
      [cyclic, makeSet(['a'])],
      makeSet([
        // c was reached under the first edge (a to b), which does not end the path under a to e ...
        v(['a', 'b', 'd', 'c']),
        v(['a', 'e', 'g', 'h', 'c']),
        v(['a', 'e', 'f', 'i']),
        // ... but g, reached in the branch through g, ends the later sibling branch through f.
        v(['a', 'e', 'f']),
      ]),
    );
  });

  it('walk is a relation yielding [path, value] for every node, root first', () => {
    expect(registry.get('walk')!.relation).toBe(true);
    expectCall(
      'walk',
      [v({ b: [1], a: makeSet(['x']) })],
      makeArray([
        v([[], { b: [1], a: makeSet(['x']) }]),
        makeArray([v(['a']), makeSet(['x'])]),
        v([['a', 'x'], 'x']),
        v([['b'], [1]]),
        v([['b', 0], 1]),
      ]),
    );
    expectCall('walk', [7], makeArray([v([[], 7])]));
  });
});

describe('bits builtins', () => {
  it('and, or, xor, negate and shifts are exact on integers', () => {
    expect([call('bits.and', 12, 10), call('bits.or', 12, 10), call('bits.xor', 12, 10)]).toEqual([8, 14, 6]);
    expect(call('bits.negate', 5)).toBe(-6);
    expect(call('bits.lsh', 9, 2)).toBe(36);
    expect(call('bits.rsh', -9, 1)).toBe(-5);
    expect(call('bits.lsh', 1, 64)).toBe(2n ** 64n);
    expect(call('bits.rsh', 2n ** 64n, 63)).toBe(2);
  });

  it('rejects floats, negative shifts, huge shifts and non-numbers', () => {
    expectFailure('bits.and', [1.5, 1], 'eval_type_error', 'bits.and: operand 1 must be integer number');
    expectFailure('bits.lsh', [1, -1], 'eval_type_error', 'bits.lsh: operand 2 must be an unsigned integer number');
    expectFailure('bits.lsh', [1, 1e6], 'eval_builtin_error', 'shift amount exceeds');
    expectFailure('bits.or', ['str', 1], 'eval_type_error', 'bits.or: operand 1 must be number but got string');
  });
});

describe('tracing builtins', () => {
  it('trace records the note and is true; http.send is refused with a reason', () => {
    const context = makeContext();
    expect(callIn(context, 'trace', 'hello')).toBe(true);
    expect(context.traces).toEqual(['hello']);
    expect(registry.get('trace')!.nondeterministic).toBe(true);
    expectFailure('trace', [1], 'eval_type_error', 'trace: operand 1 must be string but got number');
    expect(registry.has('http.send')).toBe(false);
    expect(registry.refusal('http.send')).toMatch(/not offered in the sidecar/);
  });
});
