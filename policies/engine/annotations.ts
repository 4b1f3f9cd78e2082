// METADATA annotations: YAML in a comment block that starts with `# METADATA`, attached to the
// package or rule that follows it, and what `rego.metadata.rule()` / `rego.metadata.chain()`
// return for a rule (OPA's compiler replaces those calls with these constants).
import { parse as parseYaml } from 'yaml';
import { documentPath, type Module, type Rule } from './ast.js';
import { RegoError } from './errors.js';
import type { Comment } from './lexer.js';
import { fromJSON, RegoObject, type Value } from './value.js';

export type AnnotationScope = 'package' | 'subpackages' | 'rule' | 'document';

export interface Annotation {
  readonly scope: AnnotationScope;
  /** The annotation as the builtins return it (`scope` always present). */
  readonly value: Value;
}

/** The annotations of one module: those of its package and those of each rule. */
export interface ModuleAnnotations {
  readonly package: readonly Annotation[];
  readonly rules: ReadonlyMap<Rule, readonly Annotation[]>;
}

interface Block {
  readonly firstRow: number;
  readonly lastRow: number;
  readonly yaml: string;
}

/** Comment blocks opened by a `# METADATA` line; a block runs over the contiguous comment lines below. */
function metadataBlocks(comments: readonly Comment[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < comments.length; i++) {
    if (comments[i]!.text.trim() !== 'METADATA') continue;
    const lines: string[] = [];
    let j = i + 1;
    while (j < comments.length && comments[j]!.row === comments[j - 1]!.row + 1 && comments[j]!.text.trim() !== 'METADATA') {
      lines.push(comments[j]!.text);
      j++;
    }
    blocks.push({ firstRow: comments[i]!.row, lastRow: comments[j - 1]!.row, yaml: lines.join('\n') });
    i = j - 1;
  }
  return blocks;
}

/** `Jane Doe <jane@example.com>` as OPA reads an author string. */
function authorOf(entry: unknown): unknown {
  if (typeof entry !== 'string') return entry;
  const words = entry.trim().split(/\s+/);
  const last = words[words.length - 1] ?? '';
  if (last.startsWith('<') && last.endsWith('>')) {
    const name = words.slice(0, -1).join(' ');
    return { ...(name ? { name } : {}), email: last.slice(1, -1) };
  }
  return { name: entry.trim() };
}

const TEXT_KEYS = ['title', 'description'] as const;
const ALL_SCOPES: readonly AnnotationScope[] = ['package', 'subpackages', 'rule', 'document'];

function annotationOf(block: Block, target: 'package' | 'rule', file: string): Annotation {
  const loc = { file, row: block.firstRow, col: 1 };
  let raw: unknown;
  try {
    raw = parseYaml(block.yaml) ?? {};
  } catch (err) {
    throw new RegoError('rego_parse_error', `yaml: ${(err as Error).message.split('\n')[0]}`, loc);
  }
  if (typeof raw !== 'object' || Array.isArray(raw) || raw === null) throw new RegoError('rego_parse_error', 'yaml: METADATA must be a mapping', loc);
  const fields = raw as Record<string, unknown>;
  const scope = (fields['scope'] ?? target) as AnnotationScope;
  if (!ALL_SCOPES.includes(scope)) throw new RegoError('rego_parse_error', `invalid annotation scope '${String(scope)}'`, loc);
  const applies = scope === 'package' || scope === 'subpackages' ? 'package' : 'rule';
  if (applies !== target) throw new RegoError('rego_parse_error', `annotation scope '${scope}' must be applied to ${applies}`, loc);
  const value: Record<string, unknown> = { scope };
  for (const key of TEXT_KEYS) if (typeof fields[key] === 'string') value[key] = fields[key];
  if (fields['entrypoint'] === true) value['entrypoint'] = true;
  if (Array.isArray(fields['organizations'])) value['organizations'] = fields['organizations'];
  if (Array.isArray(fields['authors'])) value['authors'] = fields['authors'].map(authorOf);
  if (Array.isArray(fields['related_resources'])) {
    value['related_resources'] = fields['related_resources'].map((r: unknown) => (typeof r === 'string' ? { ref: r } : r));
  }
  if (fields['custom'] !== undefined) value['custom'] = fields['custom'];
  return { scope, value: fromJSON(value) };
}

/**
 * Attaches each METADATA block to the package or rules starting first after it (rules parsed
 * from one head share its row). Malformed YAML or a scope on the wrong kind of statement is a
 * parse error, as in OPA.
 */
export function moduleAnnotations(module: Module, comments: readonly Comment[]): ModuleAnnotations | undefined {
  const blocks = metadataBlocks(comments);
  if (blocks.length === 0) return undefined;
  const pkg: Annotation[] = [];
  const rules = new Map<Rule, Annotation[]>();
  for (const block of blocks) {
    if (module.loc.row > block.lastRow) {
      pkg.push(annotationOf(block, 'package', module.file));
      continue;
    }
    const row = module.rules.find((r) => r.loc.row > block.lastRow)?.loc.row;
    if (row === undefined) continue;
    const annotation = annotationOf(block, 'rule', module.file);
    for (const rule of module.rules) {
      if (rule.loc.row === row) rules.set(rule, [...(rules.get(rule) ?? []), annotation]);
    }
  }
  return { package: pkg, rules };
}

function entry(path: readonly string[], annotation: Annotation | undefined): Value {
  return fromJSON({ path, ...(annotation ? { annotations: annotation.value } : {}) });
}

/** The annotations of a whole policy, to answer `rego.metadata.*` for each rule. */
export class AnnotationSet {
  constructor(private readonly modules: readonly Module[]) {}

  /** `rego.metadata.rule()`: the rule's own (rule-scoped) annotation, or an empty object. */
  rule(rule: Rule): Value {
    return this.ruleScoped(rule)?.value ?? RegoObject.empty;
  }

  private ruleScoped(rule: Rule): Annotation | undefined {
    return rule.module.annotations?.rules.get(rule)?.find((a) => a.scope === 'rule');
  }

  /**
   * `rego.metadata.chain()`: the rule's entry (always, annotated or not), then the document's,
   * the package's, and the `subpackages` annotations of enclosing packages, innermost first.
   */
  chain(rule: Rule): Value {
    const path = documentPath(rule.module, rule).path;
    const chain: Value[] = [entry(path, this.ruleScoped(rule))];
    const samePath = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((s, i) => s === b[i]);
    const documentScoped = this.modules
      .flatMap((m) => [...(m.annotations?.rules ?? [])].filter(([r]) => samePath(documentPath(m, r).path, path)).flatMap(([, as]) => as))
      .find((a) => a.scope === 'document');
    if (documentScoped) chain.push(entry(path, documentScoped));
    const pkgPath = rule.module.packagePath;
    const packageScoped = this.modules
      .filter((m) => samePath(m.packagePath, pkgPath))
      .flatMap((m) => m.annotations?.package ?? [])
      .find((a) => a.scope === 'package');
    if (packageScoped) chain.push(entry(pkgPath, packageScoped));
    for (let n = pkgPath.length; n > 0; n--) {
      const prefix = pkgPath.slice(0, n);
      const sub = this.modules
        .filter((m) => samePath(m.packagePath, prefix))
        .flatMap((m) => m.annotations?.package ?? [])
        .find((a) => a.scope === 'subpackages');
      if (sub) chain.push(entry(prefix, sub));
    }
    return Object.freeze(chain);
  }
}
