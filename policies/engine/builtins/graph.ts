// Graph and tree traversal: graph.reachable, graph.reachable_paths and the `walk` relation.
import {
  compare,
  isArray,
  isObject,
  isSet,
  makeArray,
  sortedValues,
  SetBuilder,
  typeName,
  type RegoObject,
  type Value,
} from '../value.js';
import { define, operandError } from './support.js';

function neighbours(graph: RegoObject, node: Value): Value[] | undefined {
  const edges = graph.get(node);
  if (edges === undefined) return undefined;
  if (isArray(edges)) return [...edges];
  if (isSet(edges)) return sortedValues(edges);
  return [];
}

// OPA names the expected types as one phrase here, not as a list: `operand 2 must be {array, set}`.
function initialNodes(name: string, initial: Value): Value[] {
  if (isSet(initial)) return sortedValues(initial);
  if (isArray(initial)) return [...initial];
  throw operandError(name, 2, `must be {array, set} but got ${typeName(initial)}`);
}

// Only vertices that are keys of the graph count as reached, as in OPA.
const reachable = define('graph.reachable', ['object', 'any'], ([graph, initial]) => {
  const reached = new SetBuilder();
  const queue = initialNodes('graph.reachable', initial!);
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    if (reached.has(node)) continue;
    const next = neighbours(graph as RegoObject, node);
    if (next === undefined) continue;
    reached.add(node);
    for (const neighbour of next) if (!reached.has(neighbour)) queue.push(neighbour);
  }
  return reached.build();
});

// Paths from each initial vertex, each ending at a vertex without edges, at an edge back to a
// vertex already reached, or before a vertex the graph does not list (OPA's path builder). As in
// OPA, each first edge out of an initial vertex starts its own set of reached vertices, and that
// set is shared (and grows) across every branch below that edge: a vertex reached in one branch
// ends a later sibling branch that leads to it, but not a path under another first edge.
const reachablePaths = define('graph.reachable_paths', ['object', 'any'], ([graph, initial]) => {
  const paths = new SetBuilder();
  const build = (root: Value, path: readonly Value[], reached: SetBuilder): void => {
    const next = neighbours(graph as RegoObject, root);
    if (next === undefined) {
      paths.add(makeArray(path));
      return;
    }
    const extended = [...path, root];
    if (next.length === 0) {
      paths.add(makeArray(extended));
      return;
    }
    for (const neighbour of next) {
      if (reached.has(neighbour)) {
        paths.add(makeArray(extended));
      } else {
        reached.add(root);
        build(neighbour, extended, reached);
      }
    }
  };
  for (const node of initialNodes('graph.reachable_paths', initial!)) {
    const next = neighbours(graph as RegoObject, node);
    if (next === undefined) continue;
    if (next.length === 0) paths.add(makeArray([node]));
    for (const neighbour of next) {
      const reached = new SetBuilder();
      reached.add(node);
      build(neighbour, [node], reached);
    }
  }
  return paths.build();
});

function collectWalk(value: Value, path: Value[], out: Value[]): void {
  out.push(makeArray([makeArray(path), value]));
  if (isObject(value)) {
    for (const key of [...value.keys()].sort(compare)) collectWalk(value.get(key)!, [...path, key], out);
  } else if (isArray(value)) {
    value.forEach((item, index) => collectWalk(item, [...path, index], out));
  } else if (isSet(value)) {
    for (const member of sortedValues(value)) collectWalk(member, [...path, member], out);
  }
}

// A relation: each [path, value] pair is one output, root first.
const walk = define(
  'walk',
  ['any'],
  ([value]) => {
    const out: Value[] = [];
    collectWalk(value!, [], out);
    return makeArray(out);
  },
  { relation: true },
);

export const graphBuiltins = [reachable, reachablePaths, walk];

