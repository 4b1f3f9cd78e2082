// Runs Rego conformance case files (format: ../shared/conformance/README.md) against the engine.
// Cases sharing the same modules are compiled once.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { compile, type PolicySet, type ValueRow } from './index.js';
import { canonicalText, equals, fromJSON, makeObject, makeSet, compare, isArray, makeArray, numberFromText, type Value } from './engine/value.js';

export interface CaseFailure {
  readonly file: string;
  readonly note: string;
  readonly expected: string;
  readonly got: string;
}

export interface ConformanceReport {
  passed: number;
  failed: number;
  skipped: number;
  readonly failures: CaseFailure[];
}

interface Case {
  note: string;
  modules?: string[];
  data?: unknown;
  input?: unknown;
  query: string;
  want_result?: unknown;
  no_result?: boolean;
  error?: string;
  want_prints?: string[];
  strict?: boolean;
  skip?: boolean;
  sort_bindings?: boolean;
}

const UNDEFINED_MARK = '#undefined';

function caseOf(map: Map<string, unknown>): Case {
  const scalar = <T>(key: string): T | undefined => map.get(key) as T | undefined;
  return {
    note: String(scalar('note') ?? ''),
    modules: scalar<string[]>('modules'),
    data: map.get('data'),
    input: map.get('input'),
    query: String(scalar('query') ?? ''),
    want_result: map.get('want_result'),
    no_result: scalar<boolean>('no_result'),
    error: scalar<string>('error'),
    want_prints: scalar<string[]>('want_prints'),
    strict: scalar<boolean>('strict'),
    skip: scalar<boolean>('skip'),
    sort_bindings: scalar<boolean>('sort_bindings'),
  } as Case;
}

function caseFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...caseFiles(path));
    else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(path);
  }
  return out;
}

/**
 * Decodes the case encodings (`set!`, `object!`, `#undefined`) into values. YAML mappings arrive
 * as Maps with typed keys: expected results keep them (`7: x` is the key 7); input and data are
 * JSON documents, whose keys are strings.
 */
function decode(data: unknown, typedKeys = false): Value | undefined {
  if (data === UNDEFINED_MARK) return undefined;
  if (typeof data === 'bigint') return fromJSON(data);
  // A YAML float such as 1e+30 stands for the exact decimal it is written as, as in OPA.
  if (typeof data === 'number' && Number.isInteger(data) && !Number.isSafeInteger(data)) return numberFromText(String(data));
  if (data === null || typeof data !== 'object') return fromJSON(data);
  if (Array.isArray(data)) return makeArray(data.map((d) => decode(d, typedKeys) ?? null));
  const map = data as Map<unknown, unknown>;
  if (map.size === 1 && map.has('set!')) return makeSet((map.get('set!') as unknown[]).map((d) => decode(d, typedKeys) ?? null));
  if (map.size === 1 && map.has('object!')) {
    return makeObject(
      (map.get('object!') as Map<unknown, unknown>[]).map((e) => [decode(e.get('key'), typedKeys) ?? null, decode(e.get('value'), typedKeys) ?? null] as const),
    );
  }
  const entries: [Value, Value][] = [];
  for (const [key, item] of map) {
    const value = decode(item, typedKeys);
    const decodedKey = typedKeys ? (decode(key, true) ?? null) : key === null ? 'null' : String(key);
    if (value !== undefined) entries.push([decodedKey, value]);
  }
  return makeObject(entries);
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

function show(value: Value | undefined): string {
  return value === undefined ? 'undefined' : canonicalText(value);
}

export function runConformance(root: string, options: { regoVersionOf?: (file: string) => 0 | 1 } = {}): ConformanceReport {
  const report: ConformanceReport = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const compiled = new Map<string, PolicySet | Error>();
  const versionOf = options.regoVersionOf ?? ((file: string) => (file.endsWith('binding/bindings.yaml') ? 1 : 0));
  for (const path of caseFiles(root)) {
    const file = relative(root, path);
    let doc: { cases?: Case[] };
    try {
      const parsed = parseYaml(readFileSync(path, 'utf8'), { intAsBigInt: true, mapAsMap: true, logLevel: 'error' }) as Map<string, unknown>;
      doc = { cases: ((parsed.get('cases') as Map<string, unknown>[] | undefined) ?? []).map(caseOf) };
    } catch (error) {
      report.failed++;
      report.failures.push({ file, note: '(file)', expected: 'valid YAML', got: (error as Error).message });
      continue;
    }
    for (const c of doc.cases ?? []) {
      if (c.skip) {
        report.skipped++;
        continue;
      }
      const failure = runCase(c, versionOf(path), compiled);
      if (failure === undefined) report.passed++;
      else {
        report.failed++;
        report.failures.push({ file, note: c.note, ...failure });
      }
    }
  }
  return report;
}

function runCase(c: Case, regoVersion: 0 | 1, compiled: Map<string, PolicySet | Error>): { expected: string; got: string } | undefined {
  const modules = c.modules ?? [];
  const key = JSON.stringify([regoVersion, modules]);
  let policy = compiled.get(key);
  if (policy === undefined) {
    try {
      // Module names as the reference engine reports them in print output (`rego_0:6: ...`).
      policy = compile(modules.map((source, i) => ({ file: `rego_${i}`, source, regoVersion })));
    } catch (error) {
      policy = error as Error;
    }
    compiled.set(key, policy);
  }
  const inputs = many(c.input) ?? [c.input];
  const manyInputs = many(c.input) !== undefined;
  // `many!` in the result of a single evaluation lists its several results.
  const wants = manyInputs ? (many(c.want_result) ?? [c.want_result]) : many(c.want_result) !== undefined ? [many(c.want_result)] : [c.want_result];
  const prints: string[] = [];
  try {
    if (policy instanceof Error) throw policy;
    const data = c.data === undefined ? undefined : decode(c.data);
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] === undefined ? undefined : decode(inputs[i]);
      const rows = policy.queryValues(c.query, {
        ...(input !== undefined ? { input } : {}),
        ...(data !== undefined ? { data } : {}),
        strict: c.strict !== false,
        print: (line, location) => prints.push(location ? `${location.file}:${location.row}: ${line}` : line),
        nowNs: BigInt(Date.now()) * 1_000_000n,
      });
      if (c.error !== undefined) continue;
      const got = resultValue(rows);
      if (c.no_result) {
        if (got !== undefined) return { expected: 'no result', got: show(got) };
        continue;
      }
      if (c.want_result === undefined && c.want_prints !== undefined) continue;
      const want = decode(wants[Math.min(i, wants.length - 1)], true);
      if (!sameResult(want, got, c.sort_bindings === true)) return { expected: show(want), got: show(got) };
    }
  } catch (error) {
    if (c.error !== undefined) return undefined;
    return { expected: c.no_result ? 'no result' : show(decode(wants[0], true)), got: `error: ${(error as Error).message.split('\n').slice(0, 2).join(' ')}` };
  }
  if (c.error !== undefined) return { expected: `error: ${c.error}`, got: 'success' };
  if (c.want_prints !== undefined && JSON.stringify(prints) !== JSON.stringify(c.want_prints)) {
    return { expected: `prints ${JSON.stringify(c.want_prints)}`, got: `prints ${JSON.stringify(prints)}` };
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
