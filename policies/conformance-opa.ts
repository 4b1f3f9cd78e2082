// OPA's own evaluation cases (`test/cases/testdata/v1/**.yaml` of OPA's repository): one case run
// against the engine and compared as OPA's runner (v1/topdown/exported_test.go) compares: the
// result set is a set of binding rows, each binding as its JSON value (sets as arrays, and arrays
// sorted with `sort_bindings`); `want_error_code` must equal the error's code and `want_error`
// be part of its message; builtin errors fail the query only with `strict_error`.
import { type CaseContext, type CaseOutcome, jsonKey, show, yamlValue } from './conformance-case.js';
import { RegoError, RegoErrors, type PolicySet, type ValueRow } from './index.js';
import { compare, equals, fromJSON, isArray, makeArray, makeObject, makeSet, toJSON, type Value } from './engine/value.js';

const asJSON = (data: unknown): Value => yamlValue(data, jsonKey);

/** One result row as OPA's runner sees it: `{var: JSON value}`. */
function rowValue(row: ValueRow, sortBindings: boolean): Value {
  return makeObject(
    Object.entries(row.bindings).map(([name, value]) => {
      const json = fromJSON(toJSON(value));
      return [name, sortBindings && isArray(json) ? makeArray([...json].sort(compare)) : json] as const;
    }),
  );
}

/** `input_term`: a Rego term, evaluated as a query of its own. */
function inputTerm(text: string, context: CaseContext): Value | undefined {
  const empty = context.sets.get([]) as PolicySet;
  return empty.queryValues(`input_term := ${text}`)[0]?.bindings.input_term;
}

/** Runs `body` with the case's environment variables set (`opa.runtime().env`), then restores them. */
function withEnv<T>(env: unknown, body: () => T): T {
  const entries = env instanceof Map ? [...env].map(([k, v]) => [String(k), String(v)] as const) : [];
  const saved = entries.map(([k]) => [k, process.env[k]] as const);
  for (const [k, v] of entries) process.env[k] = v;
  try {
    return body();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** One error as OPA's `Error()` prints it: `file:row: code: message` (the row only, no column or source line). */
function opaErrorLine(error: RegoError): string {
  const where = error.location ? `${error.location.file}:${error.location.row}: ` : '';
  return `${where}${error.code}: ${error.detail}`;
}

/** The text OPA's runner matches `want_error` against: its rendering of the error (ast.Errors, topdown.Error). */
export function opaErrorText(error: Error): string {
  if (error instanceof RegoError) return opaErrorLine(error);
  if (!(error instanceof RegoErrors)) return error.message;
  const lines = error.errors.map(opaErrorLine);
  return lines.length === 1 ? `1 error occurred: ${lines[0]}` : `${lines.length} errors occurred:\n${lines.join('\n')}`;
}

function errorCode(error: Error): string | undefined {
  return error instanceof RegoError || error instanceof RegoErrors ? error.code : undefined;
}

export function runOpaCase(c: Map<string, unknown>, context: CaseContext): CaseOutcome {
  const modules = ((c.get('modules') as string[] | undefined) ?? []).map((source, i) => ({ file: `test-${i}.rego`, source, regoVersion: context.regoVersion }));
  const wantCode = c.get('want_error_code') as string | undefined;
  const wantError = c.get('want_error') as string | undefined;
  const wantResult = c.get('want_result') as unknown[] | undefined;
  const sortBindings = c.get('sort_bindings') === true;
  const expectsError = wantCode !== undefined || wantError !== undefined;
  if (wantResult === undefined && !expectsError) return { expected: "one of 'want_result', 'want_error_code', 'want_error'", got: 'none' };
  let rows: ValueRow[];
  try {
    rows = withEnv(c.get('env'), () => {
      const policy = context.sets.get(modules);
      if (policy instanceof Error) throw policy;
      const input = c.has('input_term') ? inputTerm(String(c.get('input_term')), context) : c.has('input') ? asJSON(c.get('input')) : undefined;
      const data = c.has('data') ? asJSON(c.get('data')) : undefined;
      return policy.queryValues(String(c.get('query') ?? ''), {
        ...(input !== undefined ? { input } : {}),
        ...(data !== undefined ? { data } : {}),
        strict: c.get('strict_error') === true,
      });
    });
  } catch (thrown) {
    const error = thrown as Error;
    const got = `error ${errorCode(error) ?? error.name}: ${error.message.split('\n').slice(0, 2).join(' ')}`;
    if (!expectsError) return { expected: 'no error', got };
    if (wantCode !== undefined && errorCode(error) !== wantCode) return { expected: `error code ${wantCode}`, got };
    if (wantError !== undefined && !opaErrorText(error).includes(wantError)) return { expected: `error text "${wantError}"`, got };
    return undefined;
  }
  if (expectsError) return { expected: `error ${wantCode ?? ''} ${wantError ?? ''}`.trim(), got: 'success' };
  const want = makeSet((wantResult ?? []).map(asJSON));
  const got = makeSet(rows.map((row) => rowValue(row, sortBindings)));
  return equals(want, got) ? undefined : { expected: show(want), got: show(got) };
}
