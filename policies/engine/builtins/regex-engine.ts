// Compiled RE2 patterns. RE2 (the `re2js` port, linear time) is the authority on syntax and the
// engine of last resort; a pattern that translates exactly to a JavaScript RegExp runs on V8
// instead when its backtracking is provably bounded for the input at hand:
//   - no quantified group containing a quantifier or an alternation (exponential in V8), and
//   - length^(quantifiers + 1) <= backtrackingBudget (polynomial worst case kept small).
// Everything else (long inputs, nested repetition) runs on RE2 in linear time, so user input can
// never make a sidecar spin on a regular expression.
import { RE2JS, RE2JSException } from 're2js';
import { translateRe2, type JsTranslation } from './re2-to-js.js';

export interface RegexMatch {
  readonly start: number;
  readonly end: number;
  /** Group 0 is the whole match; an unmatched group is undefined. */
  readonly groups: readonly (string | undefined)[];
}

/** Worst-case backtracking steps allowed on V8 before a call goes to RE2. */
const backtrackingBudget = 1_000_000;
const cacheSize = 1000;
/** Longest pattern compiled at all. */
export const maxPatternLength = 64 * 1024;
/**
 * Largest program a pattern may expand to. Counted repetitions multiply (`(?:a{1000}b{1000}){200}`
 * is 400,000 instructions and takes seconds to compile, and matching costs up to program size
 * times input length), so a pattern from input could stall a sidecar; authorization patterns
 * are far smaller. Go's limit is higher: such patterns are refused here, with Go's message.
 */
export const maxProgramSize = 20_000;

/**
 * An upper bound of the instructions a pattern compiles to: each atom counts one, a group the
 * sum of its parts, and `{n,m}` repeats what precedes it up to max(n, m) times.
 */
export function estimateProgramSize(pattern: string): number {
  const groups: number[] = [0];
  let last = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
      last = 1;
      groups[groups.length - 1]! += 1;
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      i = close === -1 ? pattern.length : close;
      last = 1;
      groups[groups.length - 1]! += 1;
    } else if (c === '(') {
      groups.push(0);
    } else if (c === ')' && groups.length > 1) {
      last = groups.pop()! + 1;
      groups[groups.length - 1]! += last;
    } else if (c === '{') {
      const repeat = /^\{(\d+)(?:,(\d*))?\}/.exec(pattern.slice(i, i + 16));
      if (repeat) {
        const count = Math.max(Number(repeat[1]), Number(repeat[2] || 0));
        groups[groups.length - 1]! += last * Math.max(count - 1, 0);
        last *= Math.max(count, 1);
        i += repeat[0].length - 1;
      } else {
        last = 1;
        groups[groups.length - 1]! += 1;
      }
    } else {
      last = 1;
      groups[groups.length - 1]! += 1;
    }
    if (groups[groups.length - 1]! > maxProgramSize * 4) break;
  }
  return groups.reduce((a, b) => a + b, 0);
}

export class RegexSyntaxError extends Error {}

export class CompiledRegex {
  private readonly js: RegExp | undefined;

  constructor(
    readonly pattern: string,
    private readonly re2: RE2JS,
    private readonly translation: JsTranslation | undefined,
  ) {
    this.js = undefined;
    if (translation !== undefined) {
      try {
        this.js = new RegExp(translation.source, `g${translation.flags}`);
      } catch {
        this.js = undefined;
      }
    }
  }

  /** Whether the pattern has an exact V8 translation. */
  get translatable(): boolean {
    return this.js !== undefined;
  }

  get groupCount(): number {
    return this.re2.groupCount();
  }

  /** Group names and their indexes. */
  namedGroups(): ReadonlyMap<string, number> {
    return new Map(Object.entries(this.re2.namedGroups()));
  }

  /** Whether `text` is small enough for V8 to match it without a backtracking blow-up. */
  runsOnV8(text: string): boolean {
    const translation = this.translation;
    if (this.js === undefined || translation === undefined || translation.nestedRepetition) return false;
    return Math.pow(Math.max(text.length, 2), translation.quantifiers + 1) <= backtrackingBudget;
  }

  /** The leftmost-first match starting at or after `from` (a UTF-16 index), or undefined. */
  matchFrom(text: string, from: number, engine: 'v8' | 're2'): RegexMatch | undefined {
    if (engine === 'v8') {
      const js = this.js!;
      js.lastIndex = from;
      const result = js.exec(text);
      if (result === null) return undefined;
      return { start: result.index, end: result.index + result[0].length, groups: [...result] };
    }
    const matcher = this.re2.matcher(text);
    if (!matcher.find(from)) return undefined;
    const groups: (string | undefined)[] = [];
    for (let i = 0; i <= matcher.groupCount(); i++) groups.push(matcher.group(i) ?? undefined);
    return { start: matcher.start(), end: matcher.end(), groups };
  }

  test(text: string): boolean {
    if (!this.runsOnV8(text)) return this.re2.test(text);
    const js = this.js!;
    js.lastIndex = 0;
    return js.test(text);
  }

  /** Go's FindAll: successive non-overlapping matches; an empty match right after a match is skipped. */
  findAll(text: string, limit: number, engine: 'v8' | 're2' = this.runsOnV8(text) ? 'v8' : 're2'): RegexMatch[] {
    const out: RegexMatch[] = [];
    let pos = 0;
    let previousEnd = -1;
    while ((limit < 0 || out.length < limit) && pos <= text.length) {
      const match = this.matchFrom(text, pos, engine);
      if (match === undefined) break;
      let accept = true;
      if (match.end === pos) {
        if (match.start === previousEnd) accept = false;
        const cp = text.codePointAt(pos);
        pos += cp === undefined ? 1 : cp > 0xffff ? 2 : 1;
      } else {
        pos = match.end;
      }
      previousEnd = match.end;
      if (accept) out.push(match);
    }
    return out;
  }
}

const cache = new Map<string, CompiledRegex>();

/** Compiles (or reuses) an RE2 pattern; throws RegexSyntaxError with Go's message when invalid. */
export function compileRegex(pattern: string): CompiledRegex {
  // First in, first out: policies use few patterns, and a hit must cost one lookup.
  const cached = cache.get(pattern);
  if (cached !== undefined) return cached;
  if (pattern.length > maxPatternLength || estimateProgramSize(pattern) > maxProgramSize) {
    throw new RegexSyntaxError('error parsing regexp: expression too large');
  }
  let re2: RE2JS;
  try {
    re2 = RE2JS.compile(pattern);
  } catch (error) {
    if (error instanceof RE2JSException) throw new RegexSyntaxError(error.message);
    throw error;
  }
  const compiled = new CompiledRegex(pattern, re2, translateRe2(pattern));
  cache.set(pattern, compiled);
  if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  return compiled;
}

/** Go's regexp.QuoteMeta: escapes every RE2 metacharacter. */
export function quoteMeta(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
