// glob.match and glob.quote_meta with gobwas/glob semantics as OPA uses them: `*` matches within
// delimiters, `**` across them, `?` one non-delimiter character, `[abc]`/`[!a-z]` classes,
// `{a,b}` alternatives, `\` escapes. Delimiters: null means none, [] means the default ".".
// Globs compile to RE2 patterns, so they share regex.match's linear-time guarantee and cache.
import { isArray, type Value } from '../value.js';
import { compileRegex, quoteMeta, type CompiledRegex } from './regex-engine.js';
import { builtinError, define } from './support.js';

function codePointClass(delimiters: readonly number[]): string {
  return delimiters.map((cp) => `\\x{${cp.toString(16)}}`).join('');
}

class GlobSyntaxError extends Error {}

function globToRe2(glob: string, delimiters: readonly number[]): string {
  const chars = Array.from(glob);
  const notDelimiter = delimiters.length === 0 ? '(?s:.)' : `[^${codePointClass(delimiters)}]`;
  let i = 0;
  const parse = (inAlternatives: boolean): string => {
    let out = '';
    while (i < chars.length) {
      const c = chars[i]!;
      if (inAlternatives && (c === ',' || c === '}')) return out;
      i++;
      switch (c) {
        case '*':
          if (chars[i] === '*') {
            while (chars[i] === '*') i++;
            out += '(?s:.*)';
          } else {
            out += `${notDelimiter}*`;
          }
          break;
        case '?':
          out += notDelimiter;
          break;
        case '\\':
          if (i >= chars.length) throw new GlobSyntaxError('unexpected end of input after escape');
          out += quoteMeta(chars[i++]!);
          break;
        case '[': {
          const negated = chars[i] === '!';
          if (negated) i++;
          let members = '';
          while (i < chars.length && chars[i] !== ']') {
            const low = chars[i++]!;
            if (chars[i] === '-' && i + 1 < chars.length && chars[i + 1] !== ']') {
              const high = chars[i + 1]!;
              i += 2;
              if (high.codePointAt(0)! < low.codePointAt(0)!) throw new GlobSyntaxError(`invalid range ${low}-${high}`);
              members += `${codePointClass([low.codePointAt(0)!])}-${codePointClass([high.codePointAt(0)!])}`;
            } else {
              members += codePointClass([low.codePointAt(0)!]);
            }
          }
          if (i >= chars.length) throw new GlobSyntaxError('unclosed character class');
          if (members === '') throw new GlobSyntaxError('empty character class');
          i++;
          out += `[${negated ? '^' : ''}${members}]`;
          break;
        }
        case '{': {
          const alternatives: string[] = [];
          for (;;) {
            alternatives.push(parse(true));
            if (i >= chars.length) throw new GlobSyntaxError('unclosed alternatives');
            if (chars[i++] === '}') break;
          }
          out += `(?:${alternatives.join('|')})`;
          break;
        }
        default:
          out += quoteMeta(c);
      }
    }
    return out;
  };
  const body = parse(false);
  return `^${body}$`;
}

function delimitersOf(value: Value): number[] {
  if (value === null) return [];
  const out: number[] = [];
  for (const delimiter of value as readonly Value[]) {
    if (typeof delimiter !== 'string' || delimiter.length === 0) {
      throw builtinError('glob.match', 'delimiters must be non-empty strings');
    }
    out.push(delimiter.codePointAt(0)!);
  }
  return out.length === 0 ? ['.'.codePointAt(0)!] : out;
}

const compiledGlobs = new Map<string, CompiledRegex>();
const globCacheSize = 1000;

function compileGlob(pattern: string, delimiters: readonly number[]): CompiledRegex {
  const key = `${delimiters.join(',')}\u0000${pattern}`;
  const cached = compiledGlobs.get(key);
  if (cached !== undefined) return cached;
  let source: string;
  try {
    source = globToRe2(pattern, delimiters);
  } catch (error) {
    if (error instanceof GlobSyntaxError) throw builtinError('glob.match', `invalid glob ${JSON.stringify(pattern)}: ${error.message}`);
    throw error;
  }
  const compiled = compileRegex(source);
  compiledGlobs.set(key, compiled);
  if (compiledGlobs.size > globCacheSize) compiledGlobs.delete(compiledGlobs.keys().next().value!);
  return compiled;
}

const globMatch = define('glob.match', ['string', ['array', 'null'], 'string'], ([pattern, delimiters, value]) =>
  compileGlob(pattern as string, delimitersOf(isArray(delimiters) ? delimiters : null)).test(value as string),
);

export const globBuiltins = [
  globMatch,
  define('glob.quote_meta', ['string'], ([pattern]) => (pattern as string).replace(/[*?\\[\]{}]/g, '\\$&')),
];
