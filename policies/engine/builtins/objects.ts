// Object builtins: object.get/keys/remove/filter/union/union_n/subset.
import {
  equals,
  isArray,
  isObject,
  isSet,
  makeObject,
  makeSet,
  ObjectBuilder,
  type RegoObject,
  type RegoSet,
  type Value,
} from '../value.js';
import { BuiltinError, operandElementError } from './registry.js';
import { define } from './support.js';

/** Position of `step` in an array of `length`, or undefined: plain object.get takes integers only. */
type ArrayIndex = (step: Value, length: number) => number | undefined;

const integerIndex: ArrayIndex = (step, length) =>
  typeof step === 'number' && Number.isInteger(step) && step >= 0 && step < length ? step : undefined;

/** Follows `path` through objects (by key), arrays (by index) and sets (by member), as OPA's Find. */
export function findPath(value: Value, path: readonly Value[], arrayIndex: ArrayIndex = integerIndex): Value | undefined {
  let current: Value = value;
  for (const step of path) {
    if (isObject(current)) {
      const next = current.get(step);
      if (next === undefined) return undefined;
      current = next;
    } else if (isArray(current)) {
      const index = arrayIndex(step, current.length);
      if (index === undefined) return undefined;
      current = current[index]!;
    } else if (isSet(current)) {
      if (!current.has(step)) return undefined;
      current = step;
    } else {
      return undefined;
    }
  }
  return current;
}

/** Keys named by an array, set or object argument (object: its keys). */
function keysOf(value: Value): Value[] {
  if (isObject(value)) return [...value.keys()];
  return isSet(value) ? [...value] : [...(value as readonly Value[])];
}

/** Recursive merge where later objects win, except that objects under one key merge. */
export function unionObjects(objects: readonly RegoObject[]): RegoObject {
  const builder = new ObjectBuilder();
  for (const object of objects) {
    for (const [key, value] of object.entries()) {
      const existing = builder.get(key);
      builder.set(key, existing !== undefined && isObject(existing) && isObject(value) ? unionObjects([existing, value]) : value);
    }
  }
  return builder.build();
}

/** OPA's object.subset: objects recurse by key, sets by membership, arrays as a contiguous run. */
function isSubset(sup: Value, sub: Value): boolean {
  if (isObject(sup) && isObject(sub)) {
    for (const [key, value] of sub.entries()) {
      const other = sup.get(key);
      if (other === undefined) return false;
      if (equals(other, value)) continue;
      const nested = (isObject(other) && isObject(value)) || (isSet(other) && isSet(value)) || (isArray(other) && isArray(value));
      if (!nested || !isSubset(other, value)) return false;
    }
    return true;
  }
  if (isSet(sup) && isSet(sub)) return [...sub].every((value) => sup.has(value));
  if (isArray(sup) && isSet(sub)) return arrayHoldsSet(sup, sub);
  if (isArray(sup) && isArray(sub)) {
    if (sub.length === 0) return true;
    for (let start = 0; start + sub.length <= sup.length; start++) {
      if (sub.every((value, i) => equals(sup[start + i]!, value))) return true;
    }
    return false;
  }
  return false;
}

/**
 * An array holds a set when, walking the array, as many of its elements are members as the set
 * has (OPA counts a repeated element again, and an empty array holds nothing, not even the empty set).
 */
function arrayHoldsSet(sup: readonly Value[], sub: RegoSet): boolean {
  let unmatched = sub.size;
  for (const value of sup) {
    if (sub.has(value)) unmatched--;
    if (unmatched === 0) return true;
  }
  return false;
}

const subset = define('object.subset', [['object', 'array', 'set'], ['object', 'array', 'set']], ([sup, sub]) => {
  const compatible = (isObject(sup) && isObject(sub)) || (isSet(sup) && isSet(sub)) || (isArray(sup) && (isArray(sub) || isSet(sub)));
  if (!compatible) {
    throw new BuiltinError('eval_type_error', 'object.subset: both arguments object.subset must be of the same type or array and set');
  }
  return isSubset(sup!, sub!);
});

// One pass over all the objects (folding pairwise would copy the growing result each time).
const unionN = define('object.union_n', ['array'], ([objects]) => {
  for (const value of objects as readonly Value[]) {
    if (!isObject(value)) throw operandElementError('object.union_n', 1, objects!, value, 'object');
  }
  return unionObjects(objects as readonly RegoObject[]);
});

export const objectBuiltins = [
  define('object.get', ['object', 'any', 'any'], ([object, key, fallback]) => {
    const found = isArray(key) ? findPath(object!, key) : (object as RegoObject).get(key!);
    // A key whose value is null is found: only an absent key gives the fallback.
    return found === undefined ? fallback! : found;
  }),
  define('object.keys', ['object'], ([object]) => makeSet((object as RegoObject).keys())),
  define('object.remove', ['object', ['object', 'set', 'array']], ([object, keys]) => {
    const drop = makeSet(keysOf(keys!));
    return makeObject([...(object as RegoObject).entries()].filter(([key]) => !drop.has(key)));
  }),
  define('object.filter', ['object', ['object', 'set', 'array']], ([object, keys]) => {
    const keep: RegoSet = makeSet(keysOf(keys!));
    return makeObject([...(object as RegoObject).entries()].filter(([key]) => keep.has(key)));
  }),
  define('object.union', ['object', 'object'], ([a, b]) => unionObjects([a as RegoObject, b as RegoObject])),
  unionN,
  subset,
];
