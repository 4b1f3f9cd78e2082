// Aggregates over collections: count, sum, product, max, min, sort.
import { compare, isNumber, isSet, makeArray, sortedValues, type RegoNumber, type RegoSet, type Value } from '../value.js';
import { operandElementError } from './registry.js';
import { add, multiply } from './arithmetic.js';
import { define } from './support.js';

function members(collection: Value): Value[] {
  return isSet(collection) ? [...(collection as RegoSet)] : [...(collection as readonly Value[])];
}

function numbersOf(name: string, collection: Value): RegoNumber[] {
  const values = members(collection);
  for (const value of values) {
    if (!isNumber(value)) throw operandElementError(name, 1, collection, value, 'number');
  }
  return values as RegoNumber[];
}

const count = define('count', [['array', 'object', 'set', 'string']], ([collection]) => {
  if (typeof collection === 'string') {
    let runes = 0;
    for (const _ of collection) runes++;
    return runes;
  }
  return Array.isArray(collection) ? collection.length : (collection as RegoSet).size;
});

function extreme(name: string, better: (c: number) => boolean) {
  return define(name, [['set', 'array']], ([collection]) => {
    let best: Value | undefined;
    for (const value of members(collection!)) if (best === undefined || better(compare(value, best))) best = value;
    return best;
  });
}

export const aggregateBuiltins = [
  count,
  define('sum', [['set', 'array']], ([c]) => numbersOf('sum', c!).reduce<RegoNumber>((a, b) => add(a, b), 0)),
  define('product', [['set', 'array']], ([c]) => numbersOf('product', c!).reduce<RegoNumber>((a, b) => multiply(a, b), 1)),
  extreme('max', (c) => c > 0),
  extreme('min', (c) => c < 0),
  define('sort', [['set', 'array']], ([c]) =>
    makeArray(isSet(c) ? sortedValues(c) : [...(c as readonly Value[])].sort(compare)),
  ),
];
