// strings.render_template: Go text/template as OPA runs it (variables round-tripped through
// JSON, missingkey=error). Supported: text, {{- -}} trimming, comments, pipelines of one
// operand (`.`, `.a.b`, `$`, `$x`, `$x.a`, string/number/bool/nil literals), if / else if /
// else, range (with `$v :=` or `$k, $v :=`) / else, with / else, end. Function calls and
// pipes are refused with Go's parse error.
import { compare, isArray, isObject, isSet, sortedValues, type RegoObject, type Value } from '../value.js';
import { builtinError, define, limits } from './support.js';
import { numberText } from './value-text.js';

type Operand =
  | { kind: 'path'; root: 'dot' | string; fields: string[] }
  | { kind: 'literal'; value: Value };

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'print'; operand: Operand }
  | { kind: 'if'; branches: { condition: Operand; body: Node[] }[]; otherwise: Node[] }
  | { kind: 'range'; operand: Operand; key?: string; value?: string; body: Node[]; otherwise: Node[] }
  | { kind: 'with'; operand: Operand; body: Node[]; otherwise: Node[] };

class TemplateError extends Error {}

interface Action {
  readonly text: string;
}

/** Splits the template into text and action pieces, applying the trim markers. */
function lex(source: string): (string | Action)[] {
  const pieces: (string | Action)[] = [];
  let pos = 0;
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    if (open === -1) {
      pieces.push(source.slice(pos));
      break;
    }
    let text = source.slice(pos, open);
    let inner = open + 2;
    if (source.startsWith('- ', inner) || source.startsWith('-\t', inner) || source.startsWith('-\n', inner)) {
      text = text.replace(/\s+$/, '');
      inner += 1;
    }
    pieces.push(text);
    const close = source.indexOf('}}', inner);
    if (close === -1) throw new TemplateError('template: template:1: unclosed action');
    let body = source.slice(inner, close);
    pos = close + 2;
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      const rest = source.slice(pos);
      pos += rest.length - rest.replace(/^\s+/, '').length;
    }
    pieces.push({ text: body.trim() });
  }
  return pieces;
}

function parseOperand(text: string): Operand {
  if (text === '.') return { kind: 'path', root: 'dot', fields: [] };
  if (/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(text)) return { kind: 'path', root: 'dot', fields: text.slice(1).split('.') };
  const variable = /^(\$[A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/.exec(text);
  if (variable) return { kind: 'path', root: variable[1]!, fields: variable[2] ? variable[2].slice(1).split('.') : [] };
  if (/^"(?:[^"\\]|\\.)*"$/.test(text)) return { kind: 'literal', value: JSON.parse(text) as string };
  if (/^`[^`]*`$/.test(text)) return { kind: 'literal', value: text.slice(1, -1) };
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return { kind: 'literal', value: Number(text) };
  if (text === 'true' || text === 'false') return { kind: 'literal', value: text === 'true' };
  if (text === 'nil') return { kind: 'literal', value: null };
  const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text)?.[0];
  if (word !== undefined) throw new TemplateError(`template: template:1: function "${word}" not defined`);
  throw new TemplateError(`template: template:1: unsupported pipeline ${JSON.stringify(text)}`);
}

interface Block {
  readonly nodes: Node[];
  /** The keyword that ended the block ('' at the end of the template), and what followed it. */
  readonly ended: string;
  readonly rest: string;
}

function parse(pieces: readonly (string | Action)[]): Node[] {
  let index = 0;
  const block = (terminators: readonly string[]): Block => {
    const nodes: Node[] = [];
    while (index < pieces.length) {
      const piece = pieces[index++]!;
      if (typeof piece === 'string') {
        if (piece !== '') nodes.push({ kind: 'text', text: piece });
        continue;
      }
      if (piece.text.startsWith('/*')) continue;
      const keyword = /^(if|else if|else|end|range|with)\b\s*(.*)$/s.exec(piece.text);
      if (keyword === null) {
        nodes.push({ kind: 'print', operand: parseOperand(piece.text) });
        continue;
      }
      const [, word, rest = ''] = keyword;
      if (word === 'end' || word === 'else' || word === 'else if') {
        if (!terminators.includes(word)) throw new TemplateError(`template: template:1: unexpected {{${word}}}`);
        return { nodes, ended: word, rest };
      }
      nodes.push(control(word!, rest));
    }
    if (terminators.length > 0) throw new TemplateError('template: template:1: unexpected EOF');
    return { nodes, ended: '', rest: '' };
  };
  const otherwiseOf = (ended: string): Node[] => (ended === 'else' ? block(['end']).nodes : []);
  const control = (word: string, rest: string): Node => {
    if (word === 'if') {
      const branches: { condition: Operand; body: Node[] }[] = [];
      let condition = parseOperand(rest);
      for (;;) {
        const { nodes, ended, rest: next } = block(['else', 'else if', 'end']);
        branches.push({ condition, body: nodes });
        if (ended !== 'else if') return { kind: 'if', branches, otherwise: otherwiseOf(ended) };
        condition = parseOperand(next);
      }
    }
    const declaration = /^(\$[A-Za-z0-9_]*)(?:\s*,\s*(\$[A-Za-z0-9_]*))?\s*:=\s*(.*)$/s.exec(rest);
    const operand = parseOperand(declaration ? declaration[3]!.trim() : rest);
    const { nodes: body, ended } = block(['else', 'end']);
    const otherwise = otherwiseOf(ended);
    if (word === 'with') return { kind: 'with', operand, body, otherwise };
    const [key, value] = declaration ? (declaration[2] ? [declaration[1], declaration[2]] : [undefined, declaration[1]]) : [];
    return { kind: 'range', operand, key, value, body, otherwise };
  };
  return block([]).nodes;
}

/** Go's %v of the JSON round-tripped value: maps as map[k:v], slices as [a b], nil as <nil>. */
function goText(value: Value): string {
  if (value === null) return '<nil>';
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return value;
  if (isArray(value)) return `[${value.map(goText).join(' ')}]`;
  if (isSet(value)) return `[${sortedValues(value).map(goText).join(' ')}]`;
  const object = value as RegoObject;
  const keys = [...object.keys()].sort(compare);
  return `map[${keys.map((key) => `${typeof key === 'string' ? key : goText(key)}:${goText(object.get(key)!)}`).join(' ')}]`;
}

function truthy(value: Value): boolean {
  if (value === null || value === false || value === 0 || value === '') return false;
  if (isArray(value)) return value.length > 0;
  if (isSet(value) || isObject(value)) return value.size > 0;
  return true;
}

interface Scope {
  readonly dot: Value;
  readonly variables: ReadonlyMap<string, Value>;
}

function evaluate(operand: Operand, scope: Scope): Value {
  if (operand.kind === 'literal') return operand.value;
  let current: Value;
  if (operand.root === 'dot') current = scope.dot;
  else {
    const found = scope.variables.get(operand.root);
    if (found === undefined) throw new TemplateError(`template: template:1: undefined variable "${operand.root}"`);
    current = found;
  }
  for (const field of operand.fields) {
    if (!isObject(current)) throw new TemplateError(`template: template:1: can't evaluate field ${field} in type ${current === null ? 'interface {}' : typeof current}`);
    const next = current.get(field);
    if (next === undefined) throw new TemplateError(`template: template:1: map has no entry for key "${field}"`);
    current = next;
  }
  return current;
}

interface Output {
  text: string;
  /** Nodes executed: nested ranges multiply, so the work is bounded even when nothing is printed. */
  steps: number;
}

function step(out: Output): void {
  if (++out.steps > limits.maxGeneratedElements) throw new TemplateError('template execution exceeds the step limit');
}

function execute(nodes: readonly Node[], scope: Scope, out: Output): void {
  for (const node of nodes) {
    step(out);
    switch (node.kind) {
      case 'text':
        out.text += node.text;
        break;
      case 'print':
        out.text += goText(evaluate(node.operand, scope));
        break;
      case 'if': {
        const branch = node.branches.find((candidate) => truthy(evaluate(candidate.condition, scope)));
        execute(branch ? branch.body : node.otherwise, scope, out);
        break;
      }
      case 'with': {
        const value = evaluate(node.operand, scope);
        if (truthy(value)) execute(node.body, { ...scope, dot: value }, out);
        else execute(node.otherwise, scope, out);
        break;
      }
      case 'range': {
        const collection = evaluate(node.operand, scope);
        const entries: [Value, Value][] = isArray(collection)
          ? collection.map((item, i) => [i, item])
          : isSet(collection)
            ? sortedValues(collection).map((item, i) => [i, item])
            : isObject(collection)
              ? [...collection.keys()].sort(compare).map((key) => [key, collection.get(key)!])
              : [];
        if (!isArray(collection) && !isSet(collection) && !isObject(collection) && collection !== null) {
          throw new TemplateError(`template: template:1: range can't iterate over ${goText(collection)}`);
        }
        if (entries.length === 0) execute(node.otherwise, scope, out);
        for (const [key, value] of entries) {
          step(out);
          const variables = new Map(scope.variables);
          if (node.key !== undefined) variables.set(node.key, key);
          if (node.value !== undefined) variables.set(node.value, value);
          execute(node.body, { dot: value, variables }, out);
        }
        break;
      }
    }
    if (out.text.length > limits.maxGeneratedChars) throw new TemplateError('template output exceeds the string size limit');
  }
}

export const templateBuiltins = [
  define('strings.render_template', ['string', 'object'], ([template, variables]) => {
    try {
      const nodes = parse(lex(template as string));
      const out: Output = { text: '', steps: 0 };
      execute(nodes, { dot: variables!, variables: new Map([['$', variables!]]) }, out);
      return out.text;
    } catch (error) {
      if (error instanceof TemplateError) throw builtinError('strings.render_template', error.message);
      throw error;
    }
  }),
];
