// What a conformance case runner (conformance-regorus.ts, conformance-opa.ts) shares with the
// driver (conformance.ts): the context a case runs in, its outcome, and YAML-to-Rego helpers.
import { compile, type ModuleSource, type PolicySet } from './index.js';
import { canonicalText, fromJSON, makeArray, makeObject, numberFromText, type Value } from './engine/value.js';

/** What a case runner answers: nothing when the case passed, or what was expected and what came. */
export type CaseOutcome = { expected: string; got: string } | undefined;

/** Compiles each distinct module set once per run; a compile failure is kept as the Error. */
export class CompiledSets {
  private readonly sets = new Map<string, PolicySet | Error>();

  get(modules: readonly ModuleSource[]): PolicySet | Error {
    const key = JSON.stringify(modules);
    let policy = this.sets.get(key);
    if (policy === undefined) {
      try {
        policy = compile(modules);
      } catch (error) {
        policy = error as Error;
      }
      this.sets.set(key, policy);
    }
    return policy;
  }
}

export interface CaseContext {
  readonly regoVersion: 0 | 1;
  readonly sets: CompiledSets;
}

/**
 * A YAML value (parsed with Maps and exact integers) as a Rego value. `keyOf` turns a mapping's
 * key into the object key; `special` may claim a mapping first (the shared format's encodings).
 * A YAML float such as 1e+30 stands for the exact decimal it is written as, as in OPA.
 */
export function yamlValue(data: unknown, keyOf: (key: unknown) => Value, special?: (map: Map<unknown, unknown>) => Value | undefined): Value {
  if (typeof data === 'number' && Number.isInteger(data) && !Number.isSafeInteger(data)) return numberFromText(String(data));
  if (data === null || data === undefined || typeof data !== 'object') return fromJSON(data);
  if (Array.isArray(data)) return makeArray(data.map((d) => yamlValue(d, keyOf, special)));
  const map = data as Map<unknown, unknown>;
  const claimed = special?.(map);
  if (claimed !== undefined) return claimed;
  return makeObject([...map].map(([key, item]) => [keyOf(key), yamlValue(item, keyOf, special)] as const));
}

/** JSON's reading of a YAML mapping key, as OPA's YAML-to-JSON step makes it. */
export function jsonKey(key: unknown): string {
  return key === null ? 'null' : String(key);
}

/** A value as a failure message shows it. */
export function show(value: Value | undefined): string {
  return value === undefined ? 'undefined' : canonicalText(value);
}
