// trace(note): records a note in the evaluation's trace and is always true. (`print` belongs to
// the evaluator, which formats its operands and may see undefined ones.)
import { define } from './support.js';

// Its effect is the note: never evaluated at compile time.
export const tracingBuiltins = [
  define(
    'trace',
    ['string'],
    ([note], context) => {
      context.trace(note as string);
      return true;
    },
    { nondeterministic: true },
  ),
];
