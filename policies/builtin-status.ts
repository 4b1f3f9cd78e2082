// Where weft stands on each builtin OPA ships: supported, part of the language, refused (with the
// reason a policy calling it gets), internal to OPA, or missing. Generated from the builtin
// registry, so the table in README.md cannot drift (test/policies/builtin-status.test.ts).
import { createEngineBuiltins } from './engine/rego-builtins.js';
import { OPERATOR_NAMES } from './engine/resolver.js';
import { opaBuiltinNames } from './opa-builtin-names.js';

export type BuiltinStatus = 'supported' | 'language' | 'refused' | 'internal' | 'missing';

export interface BuiltinStatusRow {
  readonly name: string;
  readonly status: BuiltinStatus;
  readonly note: string;
}

/** Names OPA uses inside its own tooling, never called by a policy. */
const OPA_INTERNAL: ReadonlyMap<string, string> = new Map([
  ['internal.print', 'what OPA rewrites `print` to; weft evaluates `print` itself'],
  ['internal.test_case', '`opa test` parameterised cases'],
]);

/** Deprecated builtins: v0 modules only, as in OPA. */
const DEPRECATED_NOTE = 'deprecated: Rego v0 modules only';

export function builtinStatusRows(): BuiltinStatusRow[] {
  const registry = createEngineBuiltins({ deprecated: true });
  const current = createEngineBuiltins();
  const names = [...new Set([...opaBuiltinNames, ...registry.names()])].sort();
  return names.map((name): BuiltinStatusRow => {
    if (OPERATOR_NAMES.has(name)) return { name, status: 'language', note: 'evaluated by the engine itself' };
    const refusal = registry.refusal(name);
    if (refusal !== undefined) return { name, status: 'refused', note: refusal };
    if (registry.has(name)) return { name, status: 'supported', note: current.has(name) ? '' : DEPRECATED_NOTE };
    const internal = OPA_INTERNAL.get(name);
    if (internal !== undefined) return { name, status: 'internal', note: internal };
    return { name, status: 'missing', note: '' };
  });
}

/** The README table: a summary line, then one row per builtin. */
export function builtinStatusMarkdown(): string {
  const rows = builtinStatusRows();
  const counts = new Map<BuiltinStatus, number>();
  for (const row of rows) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
  const summary = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  return [
    `${rows.length} builtins: ${summary}.`,
    '',
    '| builtin | status | note |',
    '| --- | --- | --- |',
    ...rows.map((row) => `| \`${row.name}\` | ${row.status} | ${row.note.replace(/\|/g, '\\|')} |`),
  ].join('\n');
}
