// JSON text to Rego values, keeping integers of any size exact (JSON.parse would round them)
// and bounding nesting depth, since the text is untrusted input. Object keys are data (Maps).
import { makeArray, normalizeNumber, ObjectBuilder, type Value } from '../value.js';

export class JsonSyntaxError extends Error {}

/** Deeper documents are refused instead of risking the stack. */
export const maxJsonDepth = 1000;

const numberPattern = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

export function parseJsonText(text: string): Value {
  let pos = 0;
  const fail = (what: string): never => {
    const at = pos < text.length ? `invalid character ${JSON.stringify(text[pos])} ${what}` : 'unexpected end of JSON input';
    throw new JsonSyntaxError(at);
  };
  const skipSpace = () => {
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t' || text[pos] === '\n' || text[pos] === '\r')) pos++;
  };
  const parseString = (): string => {
    const start = pos;
    let escaped = false;
    for (pos++; pos < text.length; pos++) {
      const code = text.charCodeAt(pos);
      if (code === 0x22) {
        pos++;
        // Only strings with escapes need decoding.
        return escaped ? (JSON.parse(text.slice(start, pos)) as string) : text.slice(start + 1, pos - 1);
      }
      if (code < 0x20) fail('in string literal');
      if (code === 0x5c) {
        escaped = true;
        const escape = text[pos + 1];
        if (escape === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) pos += 5;
        else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) pos++;
        else {
          pos++;
          fail('in string escape code');
        }
      }
    }
    return fail('in string literal');
  };
  const parseValue = (depth: number): Value => {
    if (depth > maxJsonDepth) throw new JsonSyntaxError(`exceeded max depth of ${maxJsonDepth}`);
    skipSpace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const builder = new ObjectBuilder();
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return builder.build();
      }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') fail('looking for beginning of object key string');
        const key = parseString();
        skipSpace();
        if (text[pos] !== ':') fail('after object key');
        pos++;
        builder.set(key, parseValue(depth + 1));
        skipSpace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return builder.build();
        }
        fail('after object key:value pair');
      }
    }
    if (c === '[') {
      pos++;
      const items: Value[] = [];
      skipSpace();
      if (text[pos] === ']') {
        pos++;
        return makeArray(items);
      }
      for (;;) {
        items.push(parseValue(depth + 1));
        skipSpace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return makeArray(items);
        }
        fail('after array element');
      }
    }
    if (c === '"') return parseString();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    numberPattern.lastIndex = pos;
    const number = numberPattern.exec(text);
    if (number === null) return fail('looking for beginning of value');
    // Big-integer conversion grows faster than linearly: absurd literals are refused.
    if (number[0].length > 1000) throw new JsonSyntaxError('number literal longer than 1000 characters');
    pos += number[0].length;
    if (number[1] === undefined && number[2] === undefined) {
      const n = Number(number[0]);
      return Number.isSafeInteger(n) ? n : normalizeNumber(BigInt(number[0]));
    }
    const n = Number(number[0]);
    if (!Number.isFinite(n)) throw new JsonSyntaxError(`number ${number[0]} is out of range`);
    return n;
  };
  const value = parseValue(0);
  skipSpace();
  if (pos < text.length) fail('after top-level value');
  return value;
}

/** Go's encoding/json escapes these inside strings (HTML safety); OPA's json.marshal output has them escaped. */
export function goJsonEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
