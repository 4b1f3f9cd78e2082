// `weft policy eval|test|check|conformance`: the Rego tools, shaped like `opa eval`, `opa test`
// and `opa check`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { builtinStatusMarkdown } from './builtin-status.js';
import { runConformance } from './conformance.js';
import { BundleError, compile, loadBundle, RegoError, RegoErrors, type Policy, type PolicySet } from './index.js';
import { loadPolicyFiles, parseJsonExact } from './loader.js';

/** The tool's synopsis, its summary in a column (on the next line when the synopsis is long). */
function toolLine(tool: { name: string; args: string; summary: string }): string {
  const synopsis = `  ${tool.name} ${tool.args}`;
  return synopsis.length > 53 ? `${synopsis}\n${' '.repeat(55)}${tool.summary}` : `${synopsis.padEnd(55)}${tool.summary}`;
}

const TOOLS = [
  { name: 'eval', args: '[-d FILE|DIR]... [-b BUNDLE.tar.gz] [-i INPUT.json] [--v0] [--strict-builtin-errors] QUERY', summary: 'evaluate a query, print the result as JSON' },
  { name: 'test', args: 'DIR... [-v] [--v0]', summary: 'run test_* rules of *_test.rego files' },
  { name: 'check', args: 'DIR... [--v0]', summary: 'parse and compile, listing every error' },
  { name: 'builtins', args: '', summary: 'print the status of every OPA builtin in weft (Markdown)' },
  { name: 'conformance', args: '[--opa] [--v0] [DIR]', summary: "run conformance case files (default: ../shared/conformance/rego/cases); --opa: OPA's own case files (test/cases/testdata/v1 of OPA's repository)" },
] as const;

export const usage = `usage: weft policy <tool> [options]

tools:
${TOOLS.map(toolLine).join('\n')}`;

/** `weft policy <tool> --help`. */
export const toolUsage: Readonly<Record<string, string>> = Object.fromEntries(TOOLS.map((t) => [t.name, `usage: weft policy ${t.name} ${t.args}\n\n${t.summary}`]));

/** JSON text indented by two, object keys sorted and big integers exact, as `opa eval` prints. */
function prettyJSON(value: unknown, indent = ''): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    return value.length === 0 ? '[]' : `[\n${value.map((item) => inner + prettyJSON(item, inner)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return '{}';
  const members = keys.map((key) => `${inner}${JSON.stringify(key)}: ${prettyJSON((value as Record<string, unknown>)[key], inner)}`);
  return `{\n${members.join(',\n')}\n${indent}}`;
}

function usageError(message: string): Error {
  return Object.assign(new Error(`${message}\n\n${usage}`), { exitCode: 2 });
}

function compileOrReport(paths: readonly string[], v0: boolean): PolicySet | undefined {
  const loaded = loadPolicyFiles(paths, v0 ? 0 : undefined);
  try {
    return compile(loaded.modules, { data: loaded.data });
  } catch (error) {
    if (error instanceof RegoErrors || error instanceof RegoError) {
      process.stdout.write(`${error.message}\n`);
      return undefined;
    }
    throw error;
  }
}

async function evalTool(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', short: 'd', multiple: true },
      bundle: { type: 'string', short: 'b' },
      input: { type: 'string', short: 'i' },
      v0: { type: 'boolean' },
      'strict-builtin-errors': { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw usageError('policy eval: exactly one QUERY expected');
  if (values.bundle !== undefined && values.data !== undefined) throw usageError('policy eval: use -d or -b, not both');
  let policy: Policy | undefined;
  if (values.bundle !== undefined) {
    try {
      policy = await loadBundle(values.bundle, values.v0 ? { regoVersion: 0 } : {});
    } catch (error) {
      if (!(error instanceof RegoErrors || error instanceof RegoError || error instanceof BundleError)) throw error;
      process.stdout.write(`${error.message}\n`);
      return 1;
    }
  } else policy = compileOrReport(values.data ?? [], values.v0 === true);
  if (policy === undefined) return 1;
  const input: unknown = values.input === undefined ? undefined : parseJsonExact(readFileSync(values.input, 'utf8'));
  try {
    const result = policy.evaluate(positionals[0]!, {
      input,
      strict: values['strict-builtin-errors'] === true,
      print: (line) => process.stderr.write(`${line}\n`),
    });
    const rows = result.results.map((row) => ({
      expressions: row.expressions.map((value) => ({ value, text: positionals[0] })),
      ...(Object.keys(row.bindings).length > 0 ? { bindings: row.bindings } : {}),
    }));
    process.stdout.write(`${prettyJSON(rows.length > 0 ? { result: rows } : {})}\n`);
    return 0;
  } catch (error) {
    if (error instanceof RegoError || error instanceof RegoErrors) {
      process.stdout.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function testTool(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { verbose: { type: 'boolean', short: 'v' }, v0: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length === 0) throw usageError('policy test: a DIR is required');
  const policy = compileOrReport(positionals, values.v0 === true);
  if (policy === undefined) return 1;
  const testFiles = new Set(policy.modules.filter((m) => m.file.endsWith('_test.rego')).map((m) => m.file));
  let passed = 0;
  let failed = 0;
  for (const module of policy.modules) {
    if (!testFiles.has(module.file)) continue;
    const names = new Set<string>();
    for (const rule of module.rules) {
      const name = rule.ref[0]!.type === 'var' ? rule.ref[0]!.name : '';
      if (rule.ref.length === 1 && name.startsWith('test_') && !rule.args) names.add(name);
    }
    for (const name of names) {
      const path = `data.${module.packagePath.join('.')}.${name}`;
      const started = performance.now();
      let outcome: 'PASS' | 'FAIL' | 'ERROR' = 'FAIL';
      let detail = '';
      try {
        const result = policy.evaluate(path, { print: (line) => (detail += `\n    ${line}`) });
        outcome = result.value === true ? 'PASS' : 'FAIL';
      } catch (error) {
        outcome = 'ERROR';
        detail = `\n    ${(error as Error).message.replace(/\n/g, '\n    ')}${detail}`;
      }
      const ms = (performance.now() - started).toFixed(1);
      if (outcome === 'PASS') passed++;
      else failed++;
      if (outcome !== 'PASS' || values.verbose) {
        process.stdout.write(`${module.file}: ${path}: ${outcome} (${ms}ms)${outcome === 'PASS' ? '' : detail}\n`);
      }
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

async function checkTool(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { v0: { type: 'boolean' } }, allowPositionals: true });
  if (positionals.length === 0) throw usageError('policy check: a DIR is required');
  const policy = compileOrReport(positionals, values.v0 === true);
  if (policy === undefined) return 1;
  process.stdout.write(`${policy.modules.length} modules compiled, no errors\n`);
  return 0;
}

/** `../shared/conformance/rego/cases` next to the repository (or an ancestor of it). */
export function defaultConformanceDir(): string | undefined {
  let dir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) {
      for (let up = dirname(dir), j = 0; j < 4; up = dirname(up), j++) {
        const candidate = join(up, 'shared', 'conformance', 'rego', 'cases');
        if (existsSync(candidate)) return candidate;
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}

async function conformanceTool(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { opa: { type: 'boolean' }, v0: { type: 'boolean' } }, allowPositionals: true });
  const dir = positionals[0] ?? (values.opa ? undefined : defaultConformanceDir());
  if (dir === undefined || !existsSync(dir)) throw usageError(`policy conformance: case directory not found${dir ? `: ${dir}` : ''}`);
  const report = runConformance(dir, {
    format: values.opa ? 'opa' : 'regorus',
    ...(values.v0 ? { regoVersionOf: () => 0 as const } : {}),
  });
  for (const f of report.failures) {
    process.stdout.write(`FAIL ${f.file}: ${f.note}\n  expected: ${f.expected}\n  got:      ${f.got}\n`);
  }
  process.stdout.write(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [tool, ...rest] = argv;
  switch (tool) {
    case 'eval':
      return evalTool(rest);
    case 'test':
      return testTool(rest);
    case 'check':
      return checkTool(rest);
    case 'conformance':
      return conformanceTool(rest);
    case 'builtins':
      process.stdout.write(`${builtinStatusMarkdown()}\n`);
      return 0;
    default:
      throw usageError(tool === undefined ? 'policy: a tool is required' : `policy: unknown tool '${tool}'`);
  }
}
