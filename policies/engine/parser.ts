// Recursive-descent parser for Rego v1 (the default) and v0 modules, queries included.
// Operators become calls under OPA's builtin names (`x + y` is `plus(x, y)`).
import type {
  Body,
  CallTerm,
  Import,
  Literal,
  Module,
  Query,
  RefTerm,
  Rule,
  RuleKind,
  Term,
  VarTerm,
  WithModifier,
} from './ast.js';
import { RegoError, type Location } from './errors.js';
import { moduleAnnotations } from './annotations.js';
import { tokenize, type Comment, type Token } from './lexer.js';
import { normalizeNumber, numberFromText, type Value } from './value.js';

const FUTURE_KEYWORDS = ['in', 'every', 'contains', 'if'] as const;

/** Thrown instead of a parse error while a speculative parse is under way. */
const SPECULATION_FAILED: unique symbol = Symbol('speculation failed');

const RELATION_OPS: Record<string, string> = {
  '==': 'equal',
  '!=': 'neq',
  '<': 'lt',
  '<=': 'lte',
  '>': 'gt',
  '>=': 'gte',
};
const ARITH_OPS: Record<string, string> = { '+': 'plus', '-': 'minus' };
const FACTOR_OPS: Record<string, string> = { '*': 'mul', '/': 'div', '%': 'rem' };

export interface ParseOptions {
  /** 0 for Rego v0 (OPA's --v0-compatible), 1 (default) for Rego v1. */
  readonly regoVersion?: 0 | 1;
}

export function parseModule(source: string, file: string, options: ParseOptions = {}): Module {
  return new Parser(source, file, options.regoVersion ?? 1).module();
}

export function parseQuery(source: string, options: ParseOptions = {}): Query {
  return new Parser(source, 'query', options.regoVersion ?? 1).query();
}


class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  /** Nesting inside (), [] and {} of one expression: newlines do not end a literal there. */
  private depth = 0;
  private readonly keywords = new Set<string>();
  private regoV1Import = false;
  /** Depth of speculative parses (tried, and abandoned on failure). */
  private speculating = 0;
  /** Whether the rule body just parsed was introduced by `if`. */
  private bodyUsedIf = false;
  private futureImported = false;
  private readonly comments: Comment[] = [];

  constructor(
    private readonly source: string,
    private readonly file: string,
    private regoVersion: 0 | 1,
  ) {
    this.tokens = tokenize(source, file, this.comments);
    if (regoVersion === 1) for (const k of FUTURE_KEYWORDS) this.keywords.add(k);
  }

  // ---- token helpers

  private get tok(): Token {
    return this.tokens[this.pos]!;
  }
  private peek(n = 1): Token {
    return this.tokens[Math.min(this.pos + n, this.tokens.length - 1)]!;
  }
  private loc(token: Token = this.tok): Location {
    return { file: this.file, row: token.row, col: token.col };
  }
  private fail(message: string, token: Token = this.tok): never {
    // A speculative parse that fails is retried another way: no error object is needed.
    if (this.speculating > 0) throw SPECULATION_FAILED;
    throw new RegoError('rego_parse_error', message, this.loc(token), this.line(token.row));
  }

  /** Line starts, computed once: speculative parses fail often and must not rescan the source. */
  private lineStarts: number[] | undefined;
  private line(row: number): string | undefined {
    if (this.lineStarts === undefined) {
      this.lineStarts = [0];
      for (let i = 0; i < this.source.length; i++) if (this.source.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    }
    const start = this.lineStarts[row - 1];
    if (start === undefined) return undefined;
    const end = this.lineStarts[row];
    return this.source.slice(start, end === undefined ? undefined : end - 1);
  }
  private isPunct(text: string, token: Token = this.tok): boolean {
    return token.kind === 'punct' && token.text === text;
  }
  private isKeyword(word: string, token: Token = this.tok): boolean {
    return token.kind === 'ident' && token.text === word && (this.keywords.has(word) || !FUTURE_KEYWORDS.includes(word as never));
  }
  private isWord(word: string): boolean {
    const token: Token = this.tokens[this.pos]!;
    return token.kind === 'ident' && token.text === word;
  }
  private acceptPunct(text: string): boolean {
    if (!this.isPunct(text)) return false;
    this.pos++;
    return true;
  }
  private expectPunct(text: string): Token {
    if (!this.isPunct(text)) this.fail(`unexpected ${this.describe()}: expected ${text}`);
    return this.tokens[this.pos++]!;
  }
  private describe(token: Token = this.tok): string {
    if (token.kind === 'eof') return 'eof token';
    if (token.kind === 'string') return 'string token';
    return `${token.kind === 'punct' ? '' : token.kind + ' '}${JSON.stringify(token.text)} token`;
  }
  /** Infix operators continue an expression only on the same line, unless inside brackets. */
  private continues(): boolean {
    return this.depth > 0 || !this.tok.newlineBefore;
  }

  // ---- module

  module(): Module {
    const start = this.tok;
    if (!(this.isWord('package'))) this.fail('package expected');
    this.pos++;
    const packagePath = this.packagePath();
    const imports: Import[] = [];
    const rules: Rule[] = [];
    const module: Module = {
      file: this.file,
      source: this.source,
      packagePath,
      imports,
      rules,
      regoVersion: this.regoVersion,
      loc: this.loc(start),
    };
    while (this.isWord('import')) {
      const imp = this.importDecl();
      if (imp !== undefined) imports.push(imp);
    }
    (module as { regoVersion: 0 | 1 }).regoVersion = this.regoVersion;
    while (this.tok.kind !== 'eof') {
      if (this.isWord('import')) this.fail('imports must come before rules');
      if (this.isWord('package')) this.fail('unexpected package keyword');
      for (const rule of this.rule()) {
        rule.module = module;
        rules.push(rule);
      }
    }
    const annotations = moduleAnnotations(module, this.comments);
    if (annotations !== undefined) module.annotations = annotations;
    return module;
  }

  private packagePath(): string[] {
    const path: string[] = [];
    if (this.tok.kind !== 'ident') this.fail('package name expected');
    path.push(this.tok.text);
    this.pos++;
    for (;;) {
      if (this.isPunct('.') && !this.tok.newlineBefore) {
        this.pos++;
        if (this.tok.kind !== 'ident' || this.tok.spaceBefore) this.fail(`unexpected ${this.describe()}: expected ident`);
        path.push(this.tok.text);
        this.pos++;
      } else if (this.isPunct('[') && !this.tok.spaceBefore) {
        this.pos++;
        if ((this.tok as Token).kind !== 'string') this.fail('package path segments must be strings');
        path.push(this.tok.text);
        this.pos++;
        this.expectPunct(']');
      } else break;
    }
    if (path[0] === 'data') path.shift();
    if (path.length === 0) this.fail('package path must not be empty');
    return path;
  }

  private importDecl(): Import | undefined {
    const start = this.tok;
    this.pos++;
    const term = this.term();
    const path = term.type === 'var' ? { type: 'ref' as const, head: term, path: [], loc: term.loc } : term;
    if (path.type !== 'ref') this.fail('import path must be a reference', start);
    const ref = path as RefTerm;
    const head = ref.head.type === 'var' ? ref.head.name : '';
    const segments = ref.path.map((t) => (t.type === 'scalar' && typeof t.value === 'string' ? t.value : undefined));
    if (segments.some((s) => s === undefined)) this.fail('import path segments must be strings', start);
    let alias: string | undefined;
    if (this.isWord('as') && !this.tok.newlineBefore) {
      this.pos++;
      if (this.tok.kind !== 'ident') this.fail('alias name expected');
      alias = this.tok.text;
      this.pos++;
    }
    if (head === 'rego' && segments.length === 1 && segments[0] === 'v1') {
      if (this.regoV1Import || this.futureImported) this.fail('rego.v1 import: this import shadows previous import', start);
      this.regoV1Import = true;
      this.regoVersion = 1;
      for (const k of FUTURE_KEYWORDS) this.keywords.add(k);
      return undefined;
    }
    if (head === 'future' && segments[0] === 'keywords') {
      if (this.regoV1Import) this.fail('future.keywords import: this import shadows previous import', start);
      this.futureImported = true;
      if (segments.length === 1) for (const k of FUTURE_KEYWORDS) this.keywords.add(k);
      else if (segments.length === 2 && FUTURE_KEYWORDS.includes(segments[1] as never)) this.keywords.add(segments[1]!);
      else this.fail(`unexpected keyword ${segments.slice(1).join('.')}`, start);
      return undefined;
    }
    if (head !== 'data' && head !== 'input') this.fail('import path must begin with input or data', start);
    return { path: ref, ...(alias !== undefined ? { alias } : {}), loc: this.loc(start) };
  }

  // ---- rules

  private rule(): Rule[] {
    const start = this.tok;
    let isDefault = false;
    if (this.isWord('default')) {
      isDefault = true;
      this.pos++;
    }
    if (this.tok.kind !== 'ident') this.fail(`unexpected ${this.describe()}`);
    const ref = this.headRef();
    let args: Term[] | undefined;
    if (this.isPunct('(') && !this.tok.spaceBefore) {
      this.pos++;
      args = [];
      this.depth++;
      if (!this.isPunct(')')) {
        do args.push(this.expr()); while (this.acceptPunct(','));
      }
      this.depth--;
      this.expectPunct(')');
    }
    let kind: RuleKind = args ? 'function' : 'single';
    let value: Term | undefined;
    let assigned = false;
    // `if` and `contains` after a rule head can only be keywords, so v0 modules accept them too.
    if (this.isWord('contains') && !args && !this.tok.newlineBefore) {
      this.pos++;
      kind = 'multi';
      value = this.exprIn();
      assigned = true;
    } else if (this.isPunct(':=') || this.isPunct('=')) {
      this.pos++;
      value = this.exprIn();
      assigned = true;
    }
    const v1 = this.regoVersion === 1;
    // OPA parses a v0 brace body after any head, then rejects it for the missing `if` (checkRegoV1Rule).
    if (v1 && !isDefault && this.isPunct('{')) this.fail(`\`if\` keyword is required before ${args ? 'function' : 'rule'} body`);
    const bodyStart = this.tok;
    this.bodyUsedIf = false;
    let body = this.ruleBody(!assigned || kind === 'multi' || isDefault);
    if (isDefault) {
      if (!assigned) this.fail('default rules must have a value', start);
      if (body !== undefined) this.fail('default rules must not have a body', bodyStart);
    }
    if (!assigned) {
      if (!v1 && ref.length === 2 && !args && !this.bodyUsedIf) {
        // v0 `p[x] { ... }` (and `p.x { ... }`, the same ref): a partial set; with `if`, an object as in v1.
        kind = 'multi';
        value = ref.pop()!;
      }
      if (v1 && body === undefined) {
        if (ref.length > 1 && kind !== 'function') this.fail('`contains` keyword is required for partial set rules', start);
        this.fail('rule must have a body or assignment', start);
      }
      if (body === undefined && !args && !(!v1 && kind === 'multi')) {
        if (!v1 && ref.length === 1) this.fail('rule must have a body', start);
      }
      value ??= { type: 'scalar', value: true, loc: this.loc(start) };
    }
    body ??= [{ type: 'expr', negated: false, term: { type: 'scalar', value: true, loc: this.loc(start) }, with: [], loc: this.loc(start) }];
    const rule: Rule = {
      module: undefined as never,
      isDefault,
      ref,
      kind,
      ...(args ? { args } : {}),
      value: value!,
      body,
      assigned,
      loc: this.loc(start),
      slots: 0,
    };
    const elseRule = this.elseChain(rule);
    const rules: Rule[] = [elseRule ?? rule];
    // v0 allows several bodies after one head: `p { a } { b }` means p if a, p if b.
    while (!v1 && this.isPunct('{') && kind !== 'function') {
      const extra = this.ruleBody(true)!;
      rules.push({ ...rule, body: extra });
    }
    return rules;
  }

  private ruleBody(allowBrace: boolean): Body | undefined {
    if (this.isWord('if') && !this.tok.newlineBefore) {
      this.pos++;
      this.bodyUsedIf = true;
      if (this.isPunct('{')) return this.comprehensionAsBody() ?? this.braceBody();
      return [this.literal()];
    }
    if (this.isPunct('{') && allowBrace) {
      if (this.regoVersion === 1) this.fail('`if` keyword is required before rule body');
      return this.braceBody();
    }
    if (this.isPunct('{') && this.regoVersion === 0 && !this.tok.newlineBefore) return this.braceBody();
    return undefined;
  }

  /** `p if { x | body }`: a body that is a single set or object comprehension (as OPA reads it). */
  private comprehensionAsBody(): Body | undefined {
    const pos = this.pos;
    const start = this.tok;
    this.speculating++;
    try {
      const term = this.term();
      if (term.type === 'comprehension' && (this.tok.newlineBefore || this.tok.kind === 'eof')) {
        return [{ type: 'expr', negated: false, term, with: [], loc: this.loc(start) }];
      }
    } catch (error) {
      if (error !== SPECULATION_FAILED && !(error instanceof RegoError)) throw error;
    } finally {
      this.speculating--;
    }
    this.pos = pos;
    this.depth = 0;
    return undefined;
  }

  private elseChain(rule: Rule): Rule | undefined {
    if (!(this.isWord('else'))) return undefined;
    const start = this.tok;
    this.pos++;
    let value: Term = { type: 'scalar', value: true, loc: this.loc(start) };
    if (this.acceptPunct('=') || this.acceptPunct(':=')) value = this.exprIn();
    const body = this.ruleBody(true) ?? [
      { type: 'expr', negated: false, term: { type: 'scalar', value: true, loc: this.loc(start) }, with: [], loc: this.loc(start) },
    ];
    const next: Rule = { ...rule, value, body, loc: this.loc(start), isDefault: false };
    const chained = this.elseChain(next);
    return { ...rule, else: chained ?? next };
  }

  /** The rule name and its ref parts: `a.b[x].c`; `p["x"]` is the same ref as `p.x`, as in OPA. */
  private headRef(): Term[] {
    const first = this.tok;
    this.pos++;
    const ref: Term[] = [{ type: 'var', name: first.text, loc: this.loc(first), slot: -1 }];
    for (;;) {
      if (this.isPunct('.') && !this.tok.spaceBefore) {
        this.pos++;
        if (this.tok.kind !== 'ident' || this.tok.spaceBefore) this.fail('invalid whitespace between . and identifier');
        ref.push({ type: 'scalar', value: this.tok.text, loc: this.loc() });
        this.pos++;
      } else if (this.isPunct('[') && !this.tok.spaceBefore) {
        this.pos++;
        this.depth++;
        const term = this.exprIn();
        this.depth--;
        this.expectPunct(']');
        ref.push(term);
      } else break;
    }
    return ref;
  }

  // ---- bodies and literals

  private braceBody(): Body {
    this.expectPunct('{');
    const saved = this.depth;
    this.depth = 0;
    const body = this.literals('}');
    this.depth = saved;
    this.expectPunct('}');
    if (body.length === 0) this.fail('found empty body');
    return body;
  }

  /** Literals separated by `;` or newlines, up to `end` (a punctuation or eof). */
  private literals(end: string): Literal[] {
    const body: Literal[] = [];
    const atEnd = (): boolean => (end === 'eof' ? this.tok.kind === 'eof' : this.isPunct(end));
    while (!atEnd()) {
      body.push(this.literal());
      if (this.acceptPunct(';')) continue;
      if (atEnd()) break;
      if (!this.tok.newlineBefore) this.fail(end === 'eof' ? `unexpected ${this.describe()}: expecting EOF` : `unexpected ${this.describe()}`);
    }
    return body;
  }

  query(): Query {
    const body = this.literals('eof');
    if (body.length === 0) this.fail('empty query');
    return { body, slots: 0 };
  }

  private literal(): Literal {
    const start = this.tok;
    if (this.isWord('some')) {
      this.pos++;
      const terms: Term[] = [this.exprRelation()];
      while (this.acceptPunct(',')) terms.push(this.exprRelation());
      if (this.isKeyword('in')) {
        this.pos++;
        if (terms.length > 2) this.fail('unexpected , in some declaration', start);
        const domain = this.exprRelation();
        return {
          type: 'some-in',
          ...(terms.length === 2 ? { key: terms[0]! } : {}),
          value: terms[terms.length - 1]!,
          domain,
          with: this.withModifiers(),
          negated: false,
          loc: this.loc(start),
        };
      }
      // `some x in xs` parses its `in` as a membership call when the keyword is on.
      if (terms.length === 1 && terms[0]!.type === 'call' && terms[0]!.name === 'internal.member_2') {
        const call = terms[0]!;
        return { type: 'some-in', value: call.args[0]!, domain: call.args[1]!, with: this.withModifiers(), negated: false, loc: this.loc(start) };
      }
      const vars: VarTerm[] = [];
      for (const term of terms) {
        if (term.type !== 'var') this.fail('expected var in some declaration', start);
        vars.push(term as VarTerm);
      }
      return { type: 'some-decl', vars, with: [], negated: false, loc: this.loc(start) };
    }
    if (this.isKeyword('every')) {
      this.pos++;
      const first = this.exprRelation();
      let key: Term | undefined;
      let value = first;
      if (this.acceptPunct(',')) {
        key = first;
        value = this.exprRelation();
      }
      if (!this.isKeyword('in')) this.fail('expected `in` in every');
      this.pos++;
      const domain = this.exprRelation();
      const body = this.braceBody();
      return {
        type: 'every',
        ...(key ? { key } : {}),
        value,
        domain,
        body,
        with: this.withModifiers(),
        negated: false,
        loc: this.loc(start),
      };
    }
    let negated = false;
    if (this.isWord('not')) {
      negated = true;
      this.pos++;
    }
    let term = this.expr();
    if (this.isPunct(',') && this.keywords.has('in') && this.depth === 0) term = this.keyValueMembership(term);
    return { type: 'expr', negated, term, with: this.withModifiers(), loc: this.loc(start) };
  }

  /** `k, v in xs` as an expression: key-value membership. */
  private keyValueMembership(key: Term): Term {
    const pos = this.pos;
    this.pos++;
    this.speculating++;
    try {
      const value = this.exprRelation();
      if (this.isKeyword('in')) {
        const op = this.tok;
        this.pos++;
        return this.call('internal.member_3', [key, value, this.exprRelation()], op);
      }
    } catch (error) {
      if (error !== SPECULATION_FAILED && !(error instanceof RegoError)) throw error;
    } finally {
      this.speculating--;
    }
    this.pos = pos;
    return key;
  }

  private withModifiers(): WithModifier[] {
    const mods: WithModifier[] = [];
    while (this.isWord('with')) {
      const start = this.tok;
      this.pos++;
      const target = this.term();
      if (!(this.isWord('as'))) this.fail('expected as in with modifier');
      this.pos++;
      const value = this.exprIn();
      mods.push({ target, value, loc: this.loc(start) });
    }
    return mods;
  }

  // ---- expressions, lowest precedence first

  private call(name: string, args: Term[], token: Token): CallTerm {
    return { type: 'call', name, args, loc: this.loc(token) };
  }

  expr(): Term {
    const lhs = this.exprIn();
    if ((this.isPunct(':=') || this.isPunct('=')) && this.continues()) {
      const op = this.tok;
      this.pos++;
      const rhs = this.exprIn();
      return this.call(op.text === ':=' ? 'assign' : 'eq', [lhs, rhs], op);
    }
    return lhs;
  }

  private exprIn(): Term {
    let lhs = this.exprRelation();
    while (this.isKeyword('in') && this.continues()) {
      const op = this.tok;
      this.pos++;
      lhs = this.call('internal.member_2', [lhs, this.exprRelation()], op);
    }
    return lhs;
  }

  private exprRelation(): Term {
    let lhs = this.exprOr();
    while (this.tok.kind === 'punct' && RELATION_OPS[this.tok.text] !== undefined && this.continues()) {
      const op = this.tok;
      this.pos++;
      lhs = this.call(RELATION_OPS[op.text]!, [lhs, this.exprOr()], op);
    }
    return lhs;
  }

  private exprOr(): Term {
    let lhs = this.exprAnd();
    while (this.isPunct('|') && this.continues()) {
      const op = this.tok;
      this.pos++;
      lhs = this.call('or', [lhs, this.exprAnd()], op);
    }
    return lhs;
  }

  private exprAnd(): Term {
    let lhs = this.exprArith();
    while (this.isPunct('&') && this.continues()) {
      const op = this.tok;
      this.pos++;
      lhs = this.call('and', [lhs, this.exprArith()], op);
    }
    return lhs;
  }

  private exprArith(): Term {
    let lhs = this.exprFactor();
    while (this.tok.kind === 'punct' && ARITH_OPS[this.tok.text] !== undefined && this.continues()) {
      const op = this.tok;
      this.pos++;
      lhs = this.call(ARITH_OPS[op.text]!, [lhs, this.exprFactor()], op);
    }
    return lhs;
  }

  private exprFactor(): Term {
    let lhs = this.term();
    while (this.tok.kind === 'punct' && FACTOR_OPS[this.tok.text] !== undefined && this.continues()) {
      const op = this.tok;
      this.pos++;
      lhs = this.call(FACTOR_OPS[op.text]!, [lhs, this.term()], op);
    }
    return lhs;
  }

  // ---- terms

  term(): Term {
    const token = this.tok;
    const loc = this.loc(token);
    let term: Term;
    switch (token.kind) {
      case 'number':
        this.pos++;
        term = { type: 'scalar', value: numberFromText(token.text), loc };
        break;
      case 'string':
        this.pos++;
        term = { type: 'scalar', value: token.text, loc };
        break;
      case 'ident':
        term = this.identTerm();
        break;
      case 'punct':
        term = this.punctTerm();
        break;
      default:
        this.fail(`unexpected ${this.describe()}`);
    }
    return this.postfix(term);
  }

  private identTerm(): Term {
    const token = this.tok;
    const loc = this.loc(token);
    this.pos++;
    switch (token.text) {
      case 'true':
        return { type: 'scalar', value: true, loc };
      case 'false':
        return { type: 'scalar', value: false, loc };
      case 'null':
        return { type: 'scalar', value: null, loc };
      case 'set':
        if (this.isPunct('(') && this.peek().kind === 'punct' && this.peek().text === ')') {
          this.pos += 2;
          return { type: 'set', items: [], loc };
        }
        break;
    }
    // `contains(s, t)` is the builtin even where `contains` is a keyword.
    const isCall = this.isPunct('(') && !this.tok.spaceBefore;
    if (
      ['not', 'some', 'with', 'as', 'default', 'else', 'package', 'import'].includes(token.text) ||
      (this.keywords.has(token.text) && FUTURE_KEYWORDS.includes(token.text as never) && !isCall)
    ) {
      this.pos--;
      this.fail(`unexpected ${token.text} keyword`);
    }
    return { type: 'var', name: token.text, loc, slot: -1 };
  }

  private punctTerm(): Term {
    const token = this.tok;
    const loc = this.loc(token);
    switch (token.text) {
      case '-': {
        const next = this.peek();
        if (next.kind === 'number' && !next.spaceBefore) {
          this.pos += 2;
          return { type: 'scalar', value: negate(numberFromText(next.text)), loc };
        }
        break;
      }
      case '(': {
        this.pos++;
        this.depth++;
        const inner = this.exprIn();
        this.depth--;
        this.expectPunct(')');
        return inner;
      }
      case '[':
        return this.arrayTerm();
      case '{':
        return this.braceTerm();
    }
    this.fail(`unexpected ${this.describe()}`);
  }

  private arrayTerm(): Term {
    const loc = this.loc();
    this.pos++;
    this.depth++;
    const items: Term[] = [];
    if (!this.isPunct(']')) {
      const start = this.pos;
      let first = this.exprBelowOr();
      if (this.isPunct('|')) {
        const body = this.tryComprehensionBody(']');
        if (body !== undefined) return { type: 'comprehension', kind: 'array', head: first, body, loc };
        // Not a comprehension (`[x | y, 5]`): `|` is set union.
        this.pos = start;
        first = this.exprIn();
      }
      items.push(this.continueIn(first));
      while (this.acceptPunct(',')) {
        if (this.isPunct(']')) break;
        items.push(this.exprIn());
      }
    }
    this.depth--;
    this.expectPunct(']');
    return { type: 'array', items, loc };
  }

  private braceTerm(): Term {
    const loc = this.loc();
    this.pos++;
    this.depth++;
    if (this.acceptPunct('}')) {
      this.depth--;
      return { type: 'object', entries: [], loc };
    }
    // A comprehension head stops before `|`.
    const start = this.pos;
    const first = this.exprBelowOr();
    if (this.acceptPunct(':')) {
      const value = this.exprBelowOr();
      if (this.isPunct('|')) {
        const body = this.comprehensionBody('}');
        return { type: 'comprehension', kind: 'object', head: first, value, body, loc };
      }
      const entries: [Term, Term][] = [[first, value]];
      while (this.acceptPunct(',')) {
        if (this.isPunct('}')) break;
        const key = this.exprIn();
        this.expectPunct(':');
        entries.push([key, this.exprIn()]);
      }
      this.depth--;
      this.expectPunct('}');
      return { type: 'object', entries, loc };
    }
    let element = first;
    if (this.isPunct('|')) {
      const body = this.tryComprehensionBody('}');
      if (body !== undefined) return { type: 'comprehension', kind: 'set', head: first, body, loc };
      this.pos = start;
      element = this.exprIn();
    }
    const items: Term[] = [this.continueIn(element)];
    while (this.acceptPunct(',')) {
      if (this.isPunct('}')) break;
      items.push(this.exprIn());
    }
    this.depth--;
    this.expectPunct('}');
    return { type: 'set', items, loc };
  }

  /** An expression that stops before `|`, so `{x | body}` reads as a comprehension. */
  private exprBelowOr(): Term {
    let lhs = this.exprAnd();
    while (this.tok.kind === 'punct' && RELATION_OPS[this.tok.text] !== undefined) {
      const op = this.tok;
      this.pos++;
      lhs = this.call(RELATION_OPS[op.text]!, [lhs, this.exprAnd()], op);
    }
    return lhs;
  }

  /** A set element parsed below `|` that turns out not to be a comprehension head: finish it. */
  private continueIn(first: Term): Term {
    let lhs = first;
    while (this.isKeyword('in')) {
      const op = this.tok;
      this.pos++;
      lhs = this.call('internal.member_2', [lhs, this.exprRelation()], op);
    }
    return lhs;
  }

  /** A comprehension body, or undefined (position restored) when the text is not one. */
  private tryComprehensionBody(close: string): Body | undefined {
    const pos = this.pos;
    const depth = this.depth;
    this.speculating++;
    try {
      return this.comprehensionBody(close);
    } catch (error) {
      if (error !== SPECULATION_FAILED && !(error instanceof RegoError)) throw error;
      this.pos = pos;
      this.depth = depth;
      return undefined;
    } finally {
      this.speculating--;
    }
  }

  private comprehensionBody(close: string): Body {
    this.expectPunct('|');
    const saved = this.depth;
    this.depth = 0;
    const body = this.literals(close);
    this.depth = saved;
    this.depth--;
    this.expectPunct(close);
    if (body.length === 0) this.fail('found empty body');
    return body;
  }

  /** `.name`, `[term]` and `(args)` after a term. */
  private postfix(term: Term): Term {
    let current = term;
    for (;;) {
      if (this.isPunct('.') && !this.tok.spaceBefore && current.type !== 'scalar') {
        this.pos++;
        if (this.tok.kind !== 'ident') this.fail(`unexpected ${this.describe()}: expected identifier after .`);
        if (this.tok.spaceBefore) this.fail('invalid whitespace between . and identifier');
        const seg: Term = { type: 'scalar', value: this.tok.text, loc: this.loc() };
        this.pos++;
        current = appendRef(current, seg);
      } else if (this.isPunct('[') && !this.tok.spaceBefore && current.type !== 'scalar') {
        this.pos++;
        this.depth++;
        const seg = this.exprIn();
        this.depth--;
        this.expectPunct(']');
        current = appendRef(current, seg);
      } else if (this.isPunct('(') && !this.tok.spaceBefore && callName(current) !== undefined) {
        this.pos++;
        this.depth++;
        const args: Term[] = [];
        if (!this.isPunct(')')) {
          do {
            if (this.isPunct(')')) break;
            args.push(this.exprIn());
          } while (this.acceptPunct(','));
        }
        this.depth--;
        this.expectPunct(')');
        current = { type: 'call', name: callName(current)!, args, loc: current.loc };
      } else break;
    }
    return current;
  }
}

function appendRef(term: Term, segment: Term): RefTerm {
  if (term.type === 'ref') return { type: 'ref', head: term.head, path: [...term.path, segment], loc: term.loc };
  return { type: 'ref', head: term, path: [segment], loc: term.loc };
}

/** `count`, `data.lib.f`, `strings.replace_n`: a var or a ref of var and dotted names. */
function callName(term: Term): string | undefined {
  if (term.type === 'var') return term.name;
  if (term.type !== 'ref' || term.head.type !== 'var') return undefined;
  const parts = [term.head.name];
  for (const seg of term.path) {
    if (seg.type !== 'scalar' || typeof seg.value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg.value)) return undefined;
    parts.push(seg.value);
  }
  return parts.join('.');
}

function negate(value: Value): Value {
  if (typeof value === 'bigint') return normalizeNumber(-value);
  return -(value as number);
}
