// Array builtins: array.concat, array.slice (clamped like OPA), array.reverse.
import { makeArray, type Value } from '../value.js';
import { define, smallIntegerOperand } from './support.js';

export const arrayBuiltins = [
  define('array.concat', ['array', 'array'], ([a, b]) =>
    makeArray([...(a as readonly Value[]), ...(b as readonly Value[])]),
  ),
  define('array.slice', ['array', 'number', 'number'], ([array, start, stop]) => {
    const items = array as readonly Value[];
    const from = Math.max(smallIntegerOperand('array.slice', 2, start!), 0);
    const to = Math.min(smallIntegerOperand('array.slice', 3, stop!), items.length);
    return from >= to ? makeArray([]) : makeArray(items.slice(from, to));
  }),
  define('array.reverse', ['array'], ([array]) => makeArray([...(array as readonly Value[])].reverse())),
];
