// trace(note): records a note in the evaluation's trace and is always true. (`print` belongs to
// the evaluator, which formats its operands and may see undefined ones.)
import { define } from './support.js';

export const tracingBuiltins = [
  define('trace', ['string'], ([note], context) => {
    context.trace(note as string);
    return true;
  }),
];
