// Runs Rego conformance case files against the engine: the shared case format
// (../shared/conformance/README.md, `./conformance-regorus.ts`) or OPA's own
// (`test/cases/testdata/v1` of OPA's repository, `./conformance-opa.ts`). Cases sharing the same
// modules are compiled once.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runOpaCase } from './conformance-opa.js';
import { runRegorusCase } from './conformance-regorus.js';
import { CompiledSets } from './conformance-case.js';

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

/** `regorus`: the shared case files; `opa`: OPA's `test/cases/testdata` files. */
export type CaseFormat = 'regorus' | 'opa';

export interface ConformanceOptions {
  readonly format?: CaseFormat;
  /** Rego version of each file's modules; defaults per format (OPA's v1 suite: 1). */
  readonly regoVersionOf?: (file: string) => 0 | 1;
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

const defaultVersion = (format: CaseFormat) => (file: string) =>
  format === 'opa' ? (/(^|\/)v0(\/|$)/.test(file) ? 0 : 1) : file.endsWith('binding/bindings.yaml') ? 1 : 0;

export function runConformance(root: string, options: ConformanceOptions = {}): ConformanceReport {
  const format = options.format ?? 'regorus';
  const report: ConformanceReport = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const sets = new CompiledSets();
  const versionOf = options.regoVersionOf ?? defaultVersion(format);
  const runCase = format === 'opa' ? runOpaCase : runRegorusCase;
  for (const path of caseFiles(root)) {
    const file = relative(root, path);
    let cases: Map<string, unknown>[];
    try {
      const parsed = parseYaml(readFileSync(path, 'utf8'), { intAsBigInt: true, mapAsMap: true, logLevel: 'error' }) as Map<string, unknown>;
      cases = (parsed.get('cases') as Map<string, unknown>[] | undefined) ?? [];
    } catch (error) {
      report.failed++;
      report.failures.push({ file, note: '(file)', expected: 'valid YAML', got: (error as Error).message });
      continue;
    }
    for (const c of cases) {
      if (c.get('skip') === true) {
        report.skipped++;
        continue;
      }
      const failure = runCase(c, { regoVersion: versionOf(path), sets });
      if (failure === undefined) report.passed++;
      else {
        report.failed++;
        report.failures.push({ file, note: String(c.get('note') ?? ''), ...failure });
      }
    }
  }
  return report;
}
