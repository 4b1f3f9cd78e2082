// Path-based document builtins: json.filter, json.remove and json.patch (RFC 6902, plus sets,
// where a member is its own path step). Paths are JSON-pointer strings (`a/b`, `/a/b`, `~0` `~1`
// escapes) or arrays of steps.
import {
  canonicalText,
  equals,
  isArray,
  isObject,
  isSet,
  makeArray,
  makeObject,
  makeSet,
  typeName,
  type RegoObject,
  type Value,
} from '../value.js';
import { BuiltinError } from './registry.js';
import { findPath } from './objects.js';
import { define } from './support.js';

function stepKey(step: Value): string {
  return typeof step === 'string' ? step : canonicalText(step);
}

function parsePath(name: string, path: Value): Value[] {
  if (typeof path === 'string') {
    const trimmed = path.startsWith('/') ? path.slice(1) : path;
    if (trimmed === '') return path === '' ? [] : [''];
    return trimmed.split('/').map((step) => step.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  if (isArray(path)) return [...path];
  throw new BuiltinError(
    'eval_type_error',
    `${name}: operand 2 must be one of {set, array} containing string paths or array of path segments but got ${typeName(path)}`,
  );
}

/** A trie of paths; `null` marks a path's end, which covers everything below it. */
type PathTrie = Map<string, PathTrie | null>;

function buildTrie(name: string, paths: Value): PathTrie {
  const root: PathTrie = new Map();
  const list = isSet(paths) ? [...paths] : [...(paths as readonly Value[])];
  for (const path of list) {
    const steps = parsePath(name, path);
    let node = root;
    for (let i = 0; i < steps.length; i++) {
      const key = stepKey(steps[i]!);
      if (i === steps.length - 1) {
        node.set(key, null);
        break;
      }
      const existing = node.get(key);
      if (existing === null) break;
      const child: PathTrie = existing ?? new Map();
      node.set(key, child);
      node = child;
    }
  }
  return root;
}

function filterValue(value: Value, trie: PathTrie): Value | undefined {
  if (isObject(value)) {
    const entries: [Value, Value][] = [];
    for (const [key, item] of value.entries()) {
      if (!trie.has(stepKey(key))) continue;
      const sub = trie.get(stepKey(key))!;
      const kept = sub === null ? item : filterValue(item, sub);
      if (kept !== undefined) entries.push([key, kept]);
    }
    return makeObject(entries);
  }
  if (isArray(value)) {
    const kept: Value[] = [];
    value.forEach((item, index) => {
      if (!trie.has(String(index))) return;
      const sub = trie.get(String(index))!;
      const result = sub === null ? item : filterValue(item, sub);
      if (result !== undefined) kept.push(result);
    });
    return makeArray(kept);
  }
  if (isSet(value)) return makeSet([...value].filter((member) => trie.has(stepKey(member))));
  return undefined;
}

function removeValue(value: Value, trie: PathTrie): Value {
  if (isObject(value)) {
    const entries: [Value, Value][] = [];
    for (const [key, item] of value.entries()) {
      const sub = trie.get(stepKey(key));
      if (sub === null) continue;
      entries.push([key, sub === undefined ? item : removeValue(item, sub)]);
    }
    return makeObject(entries);
  }
  if (isArray(value)) {
    const kept: Value[] = [];
    value.forEach((item, index) => {
      const sub = trie.get(String(index));
      if (sub !== null) kept.push(sub === undefined ? item : removeValue(item, sub));
    });
    return makeArray(kept);
  }
  if (isSet(value)) return makeSet([...value].filter((member) => trie.get(stepKey(member)) !== null));
  return value;
}

function arrayIndex(step: Value, length: number, allowEnd: boolean): number | undefined {
  if (allowEnd && step === '-') return length;
  const index = typeof step === 'number' ? step : typeof step === 'string' && /^(0|[1-9]\d*)$/.test(step) ? Number(step) : NaN;
  if (!Number.isInteger(index) || index < 0 || index > (allowEnd ? length : length - 1)) return undefined;
  return index;
}

/** The value at a patch path: array steps may be numeric strings ("/a/0"). */
function getAt(value: Value, path: readonly Value[]): Value | undefined {
  return findPath(value, path, (step, length) => arrayIndex(step, length, false));
}

type Edit = (parent: Value, step: Value) => Value | undefined;

/** Applies `edit` to the container holding the last step of `path`, rebuilding the parents. */
function editAt(value: Value, path: readonly Value[], edit: Edit): Value | undefined {
  if (path.length === 0) return undefined;
  const [step, ...rest] = path as [Value, ...Value[]];
  if (rest.length === 0) return edit(value, step);
  if (isObject(value)) {
    const child = value.get(step);
    if (child === undefined) return undefined;
    const updated = editAt(child, rest, edit);
    return updated === undefined ? undefined : value.with(step, updated);
  }
  if (isArray(value)) {
    const index = arrayIndex(step, value.length, false);
    if (index === undefined) return undefined;
    const updated = editAt(value[index]!, rest, edit);
    if (updated === undefined) return undefined;
    return makeArray(value.map((item, i) => (i === index ? updated : item)));
  }
  if (isSet(value)) {
    // A set member is its own path step: the edited member replaces it.
    if (!value.has(step)) return undefined;
    const updated = editAt(step, rest, edit);
    return updated === undefined ? undefined : makeSet([...[...value].filter((member) => !equals(member, step)), updated]);
  }
  return undefined;
}

function addAt(document: Value, path: readonly Value[], item: Value): Value | undefined {
  if (path.length === 0) return item;
  return editAt(document, path, (parent, step) => {
    if (isObject(parent)) return parent.with(step, item);
    if (isArray(parent)) {
      const index = arrayIndex(step, parent.length, true);
      if (index === undefined) return undefined;
      return makeArray([...parent.slice(0, index), item, ...parent.slice(index)]);
    }
    // Adding to a set names the member itself as the last step, as OPA.
    if (isSet(parent)) return equals(step, item) ? makeSet([...parent, item]) : undefined;
    return undefined;
  });
}

function removeAt(document: Value, path: readonly Value[]): Value | undefined {
  return editAt(document, path, (parent, step) => {
    if (isObject(parent)) return parent.has(step) ? parent.without(step) : undefined;
    if (isArray(parent)) {
      const index = arrayIndex(step, parent.length, false);
      return index === undefined ? undefined : makeArray(parent.filter((_, i) => i !== index));
    }
    if (isSet(parent)) return parent.has(step) ? makeSet([...parent].filter((member) => !equals(member, step))) : undefined;
    return undefined;
  });
}

function patchField(patch: RegoObject, field: string): Value | undefined {
  return patch.get(field);
}

function applyPatch(document: Value, patch: Value): Value | undefined {
  if (!isObject(patch)) return undefined;
  const op = patchField(patch, 'op');
  const rawPath = patchField(patch, 'path');
  if (typeof op !== 'string' || rawPath === undefined) return undefined;
  const path = parsePath('json.patch', rawPath);
  const item = patchField(patch, 'value');
  const rawFrom = patchField(patch, 'from');
  const from = rawFrom === undefined ? undefined : parsePath('json.patch', rawFrom);
  switch (op) {
    case 'add':
      return item === undefined ? undefined : addAt(document, path, item);
    case 'remove':
      return path.length === 0 ? undefined : removeAt(document, path);
    case 'replace': {
      if (item === undefined || getAt(document, path) === undefined) return undefined;
      if (path.length === 0) return item;
      const removed = removeAt(document, path);
      return removed === undefined ? undefined : addAt(removed, path, item);
    }
    case 'move': {
      if (from === undefined) return undefined;
      const moved = getAt(document, from);
      if (moved === undefined) return undefined;
      const removed = removeAt(document, from);
      return removed === undefined ? undefined : addAt(removed, path, moved);
    }
    case 'copy': {
      if (from === undefined) return undefined;
      const copied = getAt(document, from);
      return copied === undefined ? undefined : addAt(document, path, copied);
    }
    case 'test': {
      const current = getAt(document, path);
      return item !== undefined && current !== undefined && equals(current, item) ? document : undefined;
    }
    default:
      return undefined;
  }
}

export const jsonDocumentBuiltins = [
  define('json.filter', ['object', ['set', 'array']], ([object, paths]) =>
    filterValue(object!, buildTrie('json.filter', paths!)),
  ),
  define('json.remove', ['object', ['set', 'array']], ([object, paths]) =>
    removeValue(object!, buildTrie('json.remove', paths!)),
  ),
  // A patch that cannot be applied makes the result undefined, as in OPA.
  define('json.patch', ['any', 'array'], ([document, patches]) => {
    let current: Value | undefined = document!;
    for (const patch of patches as readonly Value[]) {
      current = applyPatch(current, patch);
      if (current === undefined) return undefined;
    }
    return current;
  }),
];
