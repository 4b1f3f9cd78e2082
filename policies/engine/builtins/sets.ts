// Set builtins over a set of sets: intersection, union.
import { isSet, typeName, type RegoSet, type Value } from '../value.js';
import { BuiltinError } from './registry.js';
import { setIntersection, setUnion } from './set-algebra.js';
import { define } from './support.js';

function memberSets(name: string, sets: Value): RegoSet[] {
  const members = [...(sets as RegoSet)];
  for (const member of members) {
    if (!isSet(member)) {
      throw new BuiltinError('eval_type_error', `${name}: operand 1 must be set of set but got set containing ${typeName(member)}`);
    }
  }
  return members as RegoSet[];
}

export const setBuiltins = [
  define('intersection', ['set'], ([sets]) => setIntersection(memberSets('intersection', sets!))),
  define('union', ['set'], ([sets]) => setUnion(memberSets('union', sets!))),
];
