// Set algebra shared by the set operators (`&`, `|`, `-`) and the set builtins.
import { makeSet, SetBuilder, type RegoSet } from '../value.js';

export function setUnion(sets: Iterable<RegoSet>): RegoSet {
  const builder = new SetBuilder();
  for (const set of sets) for (const value of set) builder.add(value);
  return builder.build();
}

export function setIntersection(sets: readonly RegoSet[]): RegoSet {
  if (sets.length === 0) return makeSet([]);
  const [smallest] = [...sets].sort((a, b) => a.size - b.size);
  return makeSet([...smallest!].filter((value) => sets.every((set) => set.has(value))));
}

export function setDifference(a: RegoSet, b: RegoSet): RegoSet {
  return makeSet([...a].filter((value) => !b.has(value)));
}
