// Translates RE2 syntax (already validated by the RE2 engine) into an equivalent JavaScript
// RegExp source for the `u` flag, so simple patterns run on V8's fast engine. What cannot be
// expressed exactly returns undefined and the caller keeps the RE2 engine for that pattern.
//
// Differences handled: inline flags `(?imsU)` and `(?i:...)` scopes (case folding expanded by
// hand where it is scoped), `.`/`^`/`$` under s/m, `\A`, `\z`, `\Q...\E`, `(?P<name>...)`, POSIX
// classes, `\pX`/`\p{Script}`, RE2's `\s` (no \v), `\x{...}`, octal escapes, literal `{ } ]`.
// It also measures how the pattern could backtrack: quantifiers, and quantified groups that
// contain a quantifier or an alternation (which V8 can take exponential time on).

export interface JsTranslation {
  readonly source: string;
  readonly flags: string;
  /** Quantifiers that repeat more than once (`*`, `+`, `{n,}`, `{n,m}`, `{n}` with n > 1). */
  readonly quantifiers: number;
  /** A quantified group holds a quantifier or an alternation: backtracking could be exponential. */
  readonly nestedRepetition: boolean;
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

class Untranslatable extends Error {}

const generalCategories = new Set(
  'L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp C Cc Cf Cs Co'.split(' '),
);

const posixClasses: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\u{0}-\\u{7f}',
  blank: '\\t ',
  cntrl: '\\u{0}-\\u{1f}\\u{7f}',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const re2Space = '\\t\\n\\f\\r ';

function literal(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

/** Case variants RE2 folds together for an ASCII letter (k and s have non-ASCII partners). */
function asciiFoldOrbit(cp: number): number[] {
  const lower = cp | 0x20;
  const orbit = [lower, lower - 0x20];
  if (lower === 0x6b) orbit.push(0x212a);
  if (lower === 0x73) orbit.push(0x17f);
  return orbit;
}

function isAsciiLetter(cp: number): boolean {
  return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}

export function translateRe2(pattern: string): JsTranslation | undefined {
  try {
    return new Translator(pattern).run();
  } catch (error) {
    if (error instanceof Untranslatable) return undefined;
    throw error;
  }
}

interface Group {
  readonly saved: Flags;
  hasQuantifier: boolean;
  hasAlternation: boolean;
}

class Translator {
  private pos = 0;
  private out = '';
  private flags: Flags = { i: false, m: false, s: false, U: false };
  /** Case-insensitivity applies everywhere: use the JS `i` flag instead of expanding. */
  private readonly globalCase: boolean;
  private readonly groups: Group[] = [{ saved: { i: false, m: false, s: false, U: false }, hasQuantifier: false, hasAlternation: false }];
  private quantifiers = 0;
  private nested = false;
  /** What the next quantifier would apply to. */
  private lastAtom: { group?: Group } | undefined;

  constructor(private readonly pattern: string) {
    const leading = /^\(\?([imsU]+)\)/.exec(pattern);
    const rest = leading ? pattern.slice(leading[0].length) : pattern;
    this.globalCase = leading !== null && leading[1]!.includes('i') && !/\(\?[imsU-]*[-]?[imsU]*i/.test(rest);
  }

  run(): JsTranslation {
    while (this.pos < this.pattern.length) this.step();
    if (this.groups.length !== 1) throw new Untranslatable();
    return {
      source: this.out,
      flags: this.globalCase ? 'iu' : 'u',
      quantifiers: this.quantifiers,
      nestedRepetition: this.nested,
    };
  }

  private peek(offset = 0): string {
    return this.pattern[this.pos + offset] ?? '';
  }

  private nextCodePoint(): number {
    const cp = this.pattern.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private emitAtom(text: string, group?: Group): void {
    this.out += text;
    this.lastAtom = group === undefined ? {} : { group };
  }

  private emitLiteral(cp: number): void {
    if (this.flags.i && !this.globalCase && isAsciiLetter(cp)) {
      this.emitAtom(`[${asciiFoldOrbit(cp).map(literal).join('')}]`);
      return;
    }
    if (this.flags.i && !this.globalCase && cp > 0x7f && String.fromCodePoint(cp).toLowerCase() !== String.fromCodePoint(cp).toUpperCase()) {
      throw new Untranslatable();
    }
    this.emitAtom(literal(cp));
  }

  private step(): void {
    const c = this.peek();
    switch (c) {
      case '\\':
        this.escape();
        return;
      case '.':
        this.pos++;
        this.emitAtom(this.flags.s ? '[^]' : '[^\\n]');
        return;
      case '^':
        this.pos++;
        this.emitAtom(this.flags.m ? '(?<![^\\n])' : '^');
        this.lastAtom = undefined;
        return;
      case '$':
        this.pos++;
        this.emitAtom(this.flags.m ? '(?![^\\n])' : '$');
        this.lastAtom = undefined;
        return;
      case '(':
        this.openGroup();
        return;
      case ')': {
        this.pos++;
        const group = this.groups.pop()!;
        this.flags = { ...group.saved };
        const parent = this.groups[this.groups.length - 1]!;
        parent.hasQuantifier ||= group.hasQuantifier;
        parent.hasAlternation ||= group.hasAlternation;
        this.emitAtom(')', group);
        return;
      }
      case '|':
        this.pos++;
        this.groups[this.groups.length - 1]!.hasAlternation = true;
        this.out += '|';
        this.lastAtom = undefined;
        return;
      case '*':
      case '+':
      case '?':
        this.pos++;
        this.quantify(c, c !== '?');
        return;
      case '{': {
        const repeat = /^\{(\d+)(,(\d*))?\}/.exec(this.pattern.slice(this.pos));
        if (repeat && this.lastAtom !== undefined) {
          this.pos += repeat[0].length;
          // Any repetition beyond one counts: `(a+){3}` backtracks like three quantifiers.
          const repeats = repeat[2] !== undefined ? repeat[3] !== repeat[1] || Number(repeat[1]) > 1 : Number(repeat[1]) > 1;
          this.quantify(repeat[0], repeats);
          return;
        }
        this.pos++;
        this.emitLiteral(0x7b);
        return;
      }
      case '[':
        this.characterClass();
        return;
      default:
        this.emitLiteral(this.nextCodePoint());
    }
  }

  private quantify(operator: string, counts: boolean): void {
    let lazy = this.peek() === '?';
    if (lazy) this.pos++;
    if (this.flags.U) lazy = !lazy;
    const atom = this.lastAtom;
    if (atom === undefined) throw new Untranslatable();
    if (counts) {
      this.quantifiers++;
      if (atom.group !== undefined && (atom.group.hasQuantifier || atom.group.hasAlternation)) this.nested = true;
    }
    this.groups[this.groups.length - 1]!.hasQuantifier ||= counts;
    this.out += operator + (lazy ? '?' : '');
    this.lastAtom = undefined;
  }

  private openGroup(): void {
    this.pos++;
    const push = () => {
      this.groups.push({ saved: { ...this.flags }, hasQuantifier: false, hasAlternation: false });
    };
    if (this.peek() !== '?') {
      push();
      this.out += '(';
      this.lastAtom = undefined;
      return;
    }
    const named = /^\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(this.pattern.slice(this.pos));
    if (named) {
      this.pos += named[0].length;
      push();
      this.out += `(?<${named[1]}>`;
      this.lastAtom = undefined;
      return;
    }
    const flagGroup = /^\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(this.pattern.slice(this.pos));
    if (!flagGroup) throw new Untranslatable();
    this.pos += flagGroup[0].length;
    const apply = (letters: string, on: boolean) => {
      for (const letter of letters) this.flags[letter as keyof Flags] = on;
    };
    if (flagGroup[3] === ')') {
      // `(?i)`: applies to the rest of the enclosing group.
      apply(flagGroup[1]!, true);
      apply(flagGroup[2] ?? '', false);
      return;
    }
    push();
    apply(flagGroup[1]!, true);
    apply(flagGroup[2] ?? '', false);
    this.out += '(?:';
    this.lastAtom = undefined;
  }

  private escape(): void {
    this.pos++;
    const c = this.peek();
    this.pos++;
    switch (c) {
      case 'A':
        this.emitAtom('^');
        this.lastAtom = undefined;
        return;
      case 'z':
        this.emitAtom('$');
        this.lastAtom = undefined;
        return;
      case 'b':
      case 'B':
        // Under the JS `i` flag, \b counts ſ and K (Kelvin) as word characters; RE2's does not.
        if (this.globalCase) throw new Untranslatable();
        this.emitAtom(`\\${c}`);
        this.lastAtom = undefined;
        return;
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        if (this.flags.i && !this.globalCase && (c === 'w' || c === 'W')) throw new Untranslatable();
        this.emitAtom(`\\${c}`);
        return;
      case 's':
        this.emitAtom(`[${re2Space}]`);
        return;
      case 'S':
        this.emitAtom(`[^${re2Space}]`);
        return;
      case 'p':
      case 'P':
        this.emitAtom(this.unicodeClass(c === 'P'));
        return;
      case 'Q': {
        const end = this.pattern.indexOf('\\E', this.pos);
        const text = this.pattern.slice(this.pos, end === -1 ? undefined : end);
        this.pos = end === -1 ? this.pattern.length : end + 2;
        for (const char of text) this.emitLiteral(char.codePointAt(0)!);
        return;
      }
      case 'E':
        return;
      default:
        this.emitLiteral(this.escapedCodePoint(c));
    }
  }

  /** The code point of a character escape (after the backslash and `c`). */
  private escapedCodePoint(c: string): number {
    switch (c) {
      case 'a':
        return 7;
      case 'f':
        return 12;
      case 't':
        return 9;
      case 'n':
        return 10;
      case 'r':
        return 13;
      case 'v':
        return 11;
      case 'x': {
        const braced = /^\{([0-9A-Fa-f]+)\}/.exec(this.pattern.slice(this.pos));
        if (braced) {
          this.pos += braced[0].length;
          return parseInt(braced[1]!, 16);
        }
        const hex = this.pattern.slice(this.pos, this.pos + 2);
        this.pos += 2;
        return parseInt(hex, 16);
      }
    }
    if (c >= '0' && c <= '7') {
      const digits = /^[0-7]{0,2}/.exec(this.pattern.slice(this.pos))![0];
      this.pos += digits.length;
      return parseInt(c + digits, 8);
    }
    const cp = c.codePointAt(0)!;
    if (cp > 0xffff) this.pos++;
    return cp;
  }

  private unicodeClass(negated: boolean): string {
    let name: string;
    if (this.peek() === '{') {
      const end = this.pattern.indexOf('}', this.pos);
      name = this.pattern.slice(this.pos + 1, end);
      this.pos = end + 1;
    } else {
      name = this.peek();
      this.pos++;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    if (this.flags.i && !this.globalCase) throw new Untranslatable();
    if (name === 'Any') return negated ? '[^\\u{0}-\\u{10ffff}]' : '[\\u{0}-\\u{10ffff}]';
    const property = generalCategories.has(name) ? name : `Script=${name}`;
    return `\\${negated ? 'P' : 'p'}{${property}}`;
  }

  private characterClass(): void {
    this.pos++;
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    const items: string[] = [];
    const ranges: [number, number][] = [];
    let first = true;
    const expandCase = this.flags.i && !this.globalCase;
    while (first || this.peek() !== ']') {
      if (this.pos >= this.pattern.length) throw new Untranslatable();
      first = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.pattern.slice(this.pos));
      if (posix) {
        this.pos += posix[0].length;
        if (posix[1] === '^' || expandCase) throw new Untranslatable();
        items.push(posixClasses[posix[2]!]!);
        continue;
      }
      const low = this.classCodePoint(items);
      if (low === undefined) continue;
      let high = low;
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
        this.pos++;
        const end = this.classCodePoint(items);
        if (end === undefined) throw new Untranslatable();
        high = end;
      }
      ranges.push([low, high]);
    }
    this.pos++;
    if (expandCase) {
      for (const [low, high] of [...ranges]) {
        if (high > 0x7f) throw new Untranslatable();
        for (let cp = low; cp <= high; cp++) {
          if (isAsciiLetter(cp)) for (const variant of asciiFoldOrbit(cp)) ranges.push([variant, variant]);
        }
      }
    }
    for (const [low, high] of ranges) items.push(low === high ? literal(low) : `${literal(low)}-${literal(high)}`);
    this.emitAtom(`[${negated ? '^' : ''}${items.join('')}]`);
  }

  /** One class member: a code point, or undefined after pushing a Perl/Unicode class to `items`. */
  private classCodePoint(items: string[]): number | undefined {
    if (this.peek() !== '\\') return this.nextCodePoint();
    this.pos++;
    const c = this.peek();
    this.pos++;
    const expandCase = this.flags.i && !this.globalCase;
    switch (c) {
      case 'd':
        items.push('0-9');
        return undefined;
      case 'w':
        if (expandCase) throw new Untranslatable();
        items.push('0-9A-Za-z_');
        return undefined;
      case 's':
        items.push(re2Space);
        return undefined;
      case 'p':
      case 'P':
        items.push(this.unicodeClass(c === 'P'));
        return undefined;
      case 'D':
      case 'W':
      case 'S':
        // A negated class inside a class cannot be written as a union without the `v` flag.
        throw new Untranslatable();
    }
    return this.escapedCodePoint(c);
  }
}
