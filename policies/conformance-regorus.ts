// The shared conformance case format (../shared/conformance/README.md): one case run against the
// engine and compared as that format describes.
import type { ValueRow } from './index.js';
import { type CaseContext, type CaseOutcome, jsonKey, show, yamlValue } from './conformance-case.js';
import { equals, makeObject, makeSet, compare, isArray, makeArray, type Value } from './engine/value.js';

const UNDEFINED_MARK = '#undefined';

/** The format's encodings (`set!`, `object!`) inside a mapping. */
function encoded(map: Map<unknown, unknown>, typedKeys: boolean): Value | undefined {
  if (map.size !== 1) return undefined;
  if (map.has('set!')) return makeSet((map.get('set!') as unknown[]).map((d) => decode(d, typedKeys) ?? null));
  if (map.has('object!')) {
    return makeObject(
      (map.get('object!') as Map<unknown, unknown>[]).map((e) => [decode(e.get('key'), typedKeys) ?? null, decode(e.get('value'), typedKeys) ?? null] as const),
    );
  }
  return undefined;
}

/**
 * Decodes a case value into a Rego value (`#undefined` is undefined). Expected results keep typed
 * mapping keys (`7: x` is the key 7); input and data are JSON documents, whose keys are strings.
 */
function decode(data: unknown, typedKeys = false): Value | undefined {
  if (data === UNDEFINED_MARK) return undefined;
  const keyOf = typedKeys ? (key: unknown) => decode(key, true) ?? null : jsonKey;
  // A member whose value is `#undefined` is absent.
  const special = (map: Map<unknown, unknown>): Value | undefined => {
    const claimed = encoded(map, typedKeys);
    if (claimed !== undefined) return claimed;
    const entries = [...map].filter(([, item]) => item !== UNDEFINED_MARK);
    return entries.length === map.size ? undefined : yamlValue(new Map(entries), keyOf, special);
  };
  return yamlValue(data, keyOf, special);
}

function many(value: unknown): unknown[] | undefined {
  if (value instanceof Map && value.size === 1 && Array.isArray(value.get('many!'))) return value.get('many!') as unknown[];
  return undefined;
}

/** The result of a query as the case format describes it. */
function resultValue(rows: readonly ValueRow[]): Value | undefined {
  const rowValue = (row: ValueRow): Value => {
    if (Object.keys(row.bindings).length > 0) return makeObject(Object.entries(row.bindings));
    const exprs = row.expressions.map((v) => v ?? null);
    return exprs.length === 1 ? exprs[0]! : makeArray(exprs);
  };
  if (rows.length === 0) return undefined;
  if (rows.length === 1) return rowValue(rows[0]!);
  return makeArray(rows.map(rowValue));
}

export function runRegorusCase(c: Map<string, unknown>, context: CaseContext): CaseOutcome {
  const modules = (c.get('modules') as string[] | undefined) ?? [];
  // Module names as the reference engine reports them in print output (`rego_0:6: ...`).
  const policy = context.sets.get(modules.map((source, i) => ({ file: `rego_${i}`, source, regoVersion: context.regoVersion })));
  const error = c.get('error') as string | undefined;
  const noResult = c.get('no_result') === true;
  const wantPrints = c.get('want_prints') as string[] | undefined;
  const wantResult = c.get('want_result');
  const inputs = many(c.get('input')) ?? [c.get('input')];
  const manyInputs = many(c.get('input')) !== undefined;
  // `many!` in the result of a single evaluation lists its several results.
  const wants = manyInputs ? (many(wantResult) ?? [wantResult]) : many(wantResult) !== undefined ? [many(wantResult)] : [wantResult];
  const prints: string[] = [];
  try {
    if (policy instanceof Error) throw policy;
    const data = c.get('data') === undefined ? undefined : decode(c.get('data'));
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] === undefined ? undefined : decode(inputs[i]);
      const rows = policy.queryValues(String(c.get('query') ?? ''), {
        ...(input !== undefined ? { input } : {}),
        ...(data !== undefined ? { data } : {}),
        strict: c.get('strict') !== false,
        print: (line, location) => prints.push(location ? `${location.file}:${location.row}: ${line}` : line),
        nowNs: BigInt(Date.now()) * 1_000_000n,
      });
      if (error !== undefined) continue;
      const got = resultValue(rows);
      if (noResult) {
        if (got !== undefined) return { expected: 'no result', got: show(got) };
        continue;
      }
      if (wantResult === undefined && wantPrints !== undefined) continue;
      const want = decode(wants[Math.min(i, wants.length - 1)], true);
      if (!sameResult(want, got, c.get('sort_bindings') === true)) return { expected: show(want), got: show(got) };
    }
  } catch (thrown) {
    if (error !== undefined) return undefined;
    return { expected: noResult ? 'no result' : show(decode(wants[0], true)), got: `error: ${(thrown as Error).message.split('\n').slice(0, 2).join(' ')}` };
  }
  if (error !== undefined) return { expected: `error: ${error}`, got: 'success' };
  if (wantPrints !== undefined && JSON.stringify(prints) !== JSON.stringify(wantPrints)) {
    return { expected: `prints ${JSON.stringify(wantPrints)}`, got: `prints ${JSON.stringify(prints)}` };
  }
  return undefined;
}

function sameResult(want: Value | undefined, got: Value | undefined, sortRows: boolean): boolean {
  if (want === undefined || got === undefined) return want === got;
  if (sortRows && isArray(want) && isArray(got)) {
    return equals(makeArray([...want].sort(compare)), makeArray([...got].sort(compare)));
  }
  return equals(want, got);
}
