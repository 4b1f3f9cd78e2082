// Sharing of identical constant terms between rules: a large policy then touches the same few
// objects on every decision, which keeps evaluation cache-friendly as rules are added.
import type { Literal, RootRef, Rule, Term } from './ast.js';
import { canonicalText, type Value } from './value.js';

export class TermInterner {
  private readonly terms = new Map<string, Term>();

  rule(rule: Rule): void {
    rule.body = rule.body.map((lit) => this.literal(lit));
    rule.value = this.term(rule.value);
  }

  private literal(lit: Literal): Literal {
    switch (lit.type) {
      case 'expr':
        lit.term = this.term(lit.term);
        return lit;
      case 'some-in':
        return { ...lit, domain: this.term(lit.domain) };
      default:
        return lit;
    }
  }

  private term(term: Term): Term {
    switch (term.type) {
      case 'scalar': {
        const key = `s${typeof term.value}:${canonicalText(term.value)}`;
        return this.shared(key, term);
      }
      case 'ref': {
        if ((term as RootRef).root === undefined) {
          if (term.head.type !== 'var') return term;
          return { ...term, path: term.path.map((t) => this.term(t)) };
        }
        if (!term.path.every((t) => t.type === 'scalar')) return { ...term, path: term.path.map((t) => this.term(t)) } as RootRef;
        const key = `r${(term as RootRef).root}:${term.path.map((t) => canonicalText((t as { value: Value }).value)).join('\u0000')}`;
        return this.shared(key, term);
      }
      case 'call':
        (term as { args: Term[] }).args.forEach((arg, i, args) => (args[i] = this.term(arg)));
        return term;
      default:
        return term;
    }
  }

  private shared(key: string, term: Term): Term {
    const existing = this.terms.get(key);
    if (existing !== undefined) return existing;
    this.terms.set(key, term);
    return term;
  }
}
