// Rules inside the extent of a document another rule defines whole. OPA's checkRuleConflicts
// refuses them: `p.q := 1` with `p.q.r := 2`, `p contains x` with `p.q := 1`, a function `p(x)`
// with `p.q.r if ...`, a package `a.p` under a rule `p` of package `a`. The outer value would
// otherwise be silently merged with, or hidden by, the inner rules. A rule with a variable in its
// ref (`p[k] := v`) builds its document from keys only known at evaluation, so rules may sit
// inside its extent.
import { ruleRest, type Term } from './ast.js';
import type { DocNode, RuleGroup } from './compiler.js';
import type { ErrorCollector } from './errors.js';

export function checkRuleExtents(groups: readonly RuleGroup[], nodeOf: (group: RuleGroup) => DocNode, errors: ErrorCollector): void {
  for (const group of groups) {
    if (group.kind === 'object') continue;
    const inner = innerRuleRefs(nodeOf(group));
    const first = group.rules[0] ?? group.defaultRule;
    if (inner.length > 0 && first !== undefined) {
      errors.add('rego_type_error', `rule data.${group.path.join('.')} conflicts with [${inner.join(' ')}]`, first.loc);
    }
  }
}

/** The refs of the outermost rules below `node`, sorted, as OPA lists them. */
function innerRuleRefs(node: DocNode): string[] {
  const refs = new Set<string>();
  const visit = (at: DocNode): void => {
    const group = at.group;
    if (group !== undefined) {
      for (const rule of group.defaultRule ? [...group.rules, group.defaultRule] : group.rules) refs.add(refText(group.path, ruleRest(rule)));
      // Rules below a whole document are reported with that document's own conflict.
      if (group.kind !== 'object') return;
    }
    for (const child of at.children.values()) visit(child);
  };
  for (const child of node.children.values()) visit(child);
  return [...refs].sort();
}

function refText(path: readonly string[], rest: readonly Term[]): string {
  let text = `data.${path.join('.')}`;
  for (const term of rest) {
    if (term.type === 'var') text += `[${term.name}]`;
    else if (term.type === 'scalar' && typeof term.value === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(term.value)) text += `.${term.value}`;
    else if (term.type === 'scalar') text += `[${typeof term.value === 'bigint' ? String(term.value) : JSON.stringify(term.value)}]`;
    else text += '[_]';
  }
  return text;
}
