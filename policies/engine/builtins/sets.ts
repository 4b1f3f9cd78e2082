// Set builtins over a set of sets: intersection, union.
import { isSet, type RegoSet, type Value } from '../value.js';
import { operandElementError } from './registry.js';
import { setIntersection, setUnion } from './set-algebra.js';
import { define } from './support.js';

function memberSets(name: string, sets: Value): RegoSet[] {
  const members = [...(sets as RegoSet)];
  for (const member of members) {
    if (!isSet(member)) throw operandElementError(name, 1, sets, member, 'set');
  }
  return members as RegoSet[];
}

export const setBuiltins = [
  define('intersection', ['set'], ([sets]) => setIntersection(memberSets('intersection', sets!))),
  define('union', ['set'], ([sets]) => setUnion(memberSets('union', sets!))),
];
