// Comparison operators (`==`, `!=`, `<`, `<=`, `>`, `>=`) under OPA's builtin names. They compare
// any two values with OPA's total order, so `1 < "a"` is true (numbers sort before strings).
import { compare, equals } from '../value.js';
import { define } from './support.js';

export const comparisonBuiltins = [
  define('equal', ['any', 'any'], ([a, b]) => equals(a!, b!)),
  define('neq', ['any', 'any'], ([a, b]) => !equals(a!, b!)),
  define('lt', ['any', 'any'], ([a, b]) => compare(a!, b!) < 0),
  define('lte', ['any', 'any'], ([a, b]) => compare(a!, b!) <= 0),
  define('gt', ['any', 'any'], ([a, b]) => compare(a!, b!) > 0),
  define('gte', ['any', 'any'], ([a, b]) => compare(a!, b!) >= 0),
];
