// regex.* builtins with Go's RE2 semantics (see regex-engine.ts for how patterns run).
import { makeArray, type Value } from '../value.js';
import { compileRegex, quoteMeta, RegexSyntaxError, type CompiledRegex, type RegexMatch } from './regex-engine.js';
import { globsIntersect } from './regex-globs.js';
import { builtinError, define, limits, smallIntegerOperand } from './support.js';

function compileFor(name: string, pattern: string): CompiledRegex {
  try {
    return compileRegex(pattern);
  } catch (error) {
    if (error instanceof RegexSyntaxError) throw builtinError(name, error.message);
    throw error;
  }
}

/** Go's regexp.Split(s, -1). */
function split(regex: CompiledRegex, text: string): string[] {
  if (regex.pattern.length > 0 && text.length === 0) return [''];
  const parts: string[] = [];
  let begin = 0;
  let end = 0;
  for (const match of regex.findAll(text, -1)) {
    end = match.start;
    if (match.end !== 0) parts.push(text.slice(begin, end));
    begin = match.end;
  }
  if (end !== text.length) parts.push(text.slice(begin));
  return parts;
}

/** Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown or unmatched groups expand to nothing. */
function expand(template: string, match: RegexMatch, names: ReadonlyMap<string, number>): string {
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar === -1) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const reference = /^(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/.exec(rest);
    if (reference === null) {
      out += '$';
      continue;
    }
    rest = rest.slice(reference[0].length);
    const name = reference[1] ?? reference[2]!;
    const index = /^\d+$/.test(name) ? Number(name) : names.get(name);
    if (index !== undefined && index < match.groups.length) out += match.groups[index] ?? '';
  }
  return out + rest;
}

function replaceAll(regex: CompiledRegex, text: string, template: string): string {
  const names = regex.namedGroups();
  let out = '';
  let last = 0;
  for (const match of regex.findAll(text, -1)) {
    out += text.slice(last, match.start) + expand(template, match, names);
    last = match.end;
    if (out.length > limits.maxGeneratedChars) throw builtinError('regex.replace', 'result exceeds the string size limit');
  }
  return out + text.slice(last);
}

/** The regex of a template like `urn:{[a-z]+}:x`: literal text quoted, delimited parts as groups. */
function templateRegex(name: string, template: string, open: string, close: string): string {
  let pattern = '^';
  let literalStart = 0;
  let depth = 0;
  let partStart = 0;
  for (let i = 0; i < template.length; i++) {
    if (template[i] === open) {
      if (depth === 0) {
        pattern += quoteMeta(template.slice(literalStart, i));
        partStart = i + 1;
      }
      depth++;
    } else if (template[i] === close) {
      depth--;
      if (depth === 0) {
        pattern += `(${template.slice(partStart, i)})`;
        literalStart = i + 1;
      } else if (depth < 0) {
        throw builtinError(name, `unbalanced braces in "${template}"`);
      }
    }
  }
  if (depth !== 0) throw builtinError(name, `unbalanced braces in "${template}"`);
  return `${pattern + quoteMeta(template.slice(literalStart))}$`;
}

const templateMatch = define(
  'regex.template_match',
  ['string', 'string', 'string', 'string'],
  ([template, value, open, close]) => {
    const name = 'regex.template_match';
    if ((open as string).length !== 1 || (close as string).length !== 1) {
      throw builtinError(name, 'delimiters must be single characters');
    }
    const regex = compileFor(name, templateRegex(name, template as string, open as string, close as string));
    return regex.test(value as string);
  },
);

const match = (name: string) =>
  define(name, ['string', 'string'], ([pattern, value]) => compileFor(name, pattern as string).test(value as string));

/** The same test under another name (the deprecated `re_match`). */
export const regexMatchAs = match;

export const regexBuiltins = [
  match('regex.match'),
  define('regex.is_valid', ['any'], ([pattern]) => {
    if (typeof pattern !== 'string') return false;
    try {
      compileRegex(pattern);
      return true;
    } catch (error) {
      if (error instanceof RegexSyntaxError) return false;
      throw error;
    }
  }),
  define('regex.split', ['string', 'string'], ([pattern, value]) =>
    makeArray(split(compileFor('regex.split', pattern as string), value as string)),
  ),
  define('regex.find_n', ['string', 'string', 'number'], ([pattern, value, n]) => {
    const limit = smallIntegerOperand('regex.find_n', 3, n!);
    const regex = compileFor('regex.find_n', pattern as string);
    return makeArray(regex.findAll(value as string, limit).map((m) => m.groups[0]!));
  }),
  define('regex.find_all_string_submatch_n', ['string', 'string', 'number'], ([pattern, value, n]) => {
    const name = 'regex.find_all_string_submatch_n';
    const limit = smallIntegerOperand(name, 3, n!);
    const regex = compileFor(name, pattern as string);
    return makeArray(
      regex.findAll(value as string, limit).map((m) => makeArray(m.groups.map((group): Value => group ?? ''))),
    );
  }),
  define('regex.replace', ['string', 'string', 'string'], ([text, pattern, template]) =>
    replaceAll(compileFor('regex.replace', pattern as string), text as string, template as string),
  ),
  templateMatch,
  define('regex.globs_match', ['string', 'string'], ([a, b]) => {
    const result = globsIntersect(a as string, b as string);
    if (typeof result === 'string') throw builtinError('regex.globs_match', result);
    return result;
  }),
];
