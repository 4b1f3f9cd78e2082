// Rego tokens with their positions. Newlines matter in Rego (they separate body literals), so
// each token records whether a newline precedes it.
import { RegoError, sourceLine } from './errors.js';

export type TokenKind = 'ident' | 'string' | 'number' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Identifier name, punctuation text, decoded string, or number text. */
  readonly text: string;
  readonly row: number;
  readonly col: number;
  readonly offset: number;
  readonly end: number;
  readonly newlineBefore: boolean;
  readonly spaceBefore: boolean;
}

const PUNCTUATION = [':=', '==', '!=', '<=', '>=', '{', '}', '[', ']', '(', ')', '.', ',', ';', ':', '=', '<', '>', '+', '-', '*', '/', '%', '&', '|'];

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** A `#` comment: its row and its text after the `#`. */
export interface Comment {
  readonly row: number;
  readonly text: string;
}

/** The tokens of `source`; its comments go to `comments` when given (METADATA annotations live there). */
export function tokenize(source: string, file: string, comments?: Comment[]): Token[] {
  const tokens: Token[] = [];
  // A byte order mark is not part of the text.
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  let row = 1;
  let lineStart = i;
  let newlineBefore = false;
  let spaceBefore = false;
  const fail = (message: string, at: number): never => {
    const col = at - lineStart + 1;
    throw new RegoError('rego_parse_error', message, { file, row, col }, sourceLine(source, row));
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\n') {
      i++;
      row++;
      lineStart = i;
      newlineBefore = true;
      spaceBefore = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      spaceBefore = true;
      continue;
    }
    if (c === '#') {
      const start = i + 1;
      while (i < source.length && source[i] !== '\n') i++;
      comments?.push({ row, text: source.slice(start, i).replace(/\r$/, '') });
      spaceBefore = true;
      continue;
    }
    const start = i;
    const col = i - lineStart + 1;
    const startRow = row;
    const push = (kind: TokenKind, text: string): void => {
      tokens.push({ kind, text, row: startRow, col, offset: start, end: i, newlineBefore, spaceBefore });
      newlineBefore = false;
      spaceBefore = false;
    };
    if (isIdentStart(c)) {
      while (i < source.length && isIdentPart(source[i]!)) i++;
      push('ident', source.slice(start, i));
      continue;
    }
    if (isDigit(c)) {
      while (isDigit(source[i])) i++;
      if (source[i] === '.' && isDigit(source[i + 1])) {
        i++;
        while (isDigit(source[i])) i++;
      }
      if (source[i] === 'e' || source[i] === 'E') {
        let j = i + 1;
        if (source[j] === '+' || source[j] === '-') j++;
        if (isDigit(source[j])) {
          i = j;
          while (isDigit(source[i])) i++;
        }
      }
      if (i < source.length && isIdentStart(source[i]!)) fail('illegal number format', i);
      push('number', source.slice(start, i));
      continue;
    }
    if (c === '"') {
      i++;
      let text = '';
      for (;;) {
        if (i >= source.length || source[i] === '\n') fail('non-terminated string', start);
        const ch = source[i]!;
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === '\\') {
          const e = source[i + 1];
          i += 2;
          switch (e) {
            case '"':
            case '\\':
            case '/':
              text += e;
              break;
            case 'b':
              text += '\b';
              break;
            case 'f':
              text += '\f';
              break;
            case 'n':
              text += '\n';
              break;
            case 'r':
              text += '\r';
              break;
            case 't':
              text += '\t';
              break;
            case 'u': {
              const hex = source.slice(i, i + 4);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('illegal unicode escape in string', i - 2);
              text += String.fromCharCode(parseInt(hex, 16));
              i += 4;
              break;
            }
            default:
              fail('illegal escape sequence in string', i - 2);
          }
          continue;
        }
        text += ch;
        i++;
      }
      push('string', text);
      continue;
    }
    if (c === '`') {
      const close = source.indexOf('`', i + 1);
      if (close < 0) fail('non-terminated raw string', start);
      const text = source.slice(i + 1, close);
      for (const ch of text) {
        if (ch === '\n') {
          row++;
        }
      }
      const lastNewline = text.lastIndexOf('\n');
      if (lastNewline >= 0) lineStart = i + 1 + lastNewline + 1;
      i = close + 1;
      push('string', text);
      continue;
    }
    const punct = PUNCTUATION.find((p) => source.startsWith(p, i));
    if (punct === undefined) fail(`illegal token ${JSON.stringify(c)}`, i);
    i += punct!.length;
    push('punct', punct!);
  }
  tokens.push({
    kind: 'eof',
    text: '',
    row,
    col: i - lineStart + 1,
    offset: i,
    end: i,
    newlineBefore: true,
    spaceBefore: true,
  });
  return tokens;
}
