// regex.globs_match: whether two "regex globs" can match a common string. The syntax (as OPA's
// glob-intersection library): literal characters, `.` (any character), classes `[a-z]`/`[^...]`,
// backslash escapes, each optionally followed by `*`, `+` or `?`. Decided by exploring the
// product of the two patterns' automata, so the cost is at most |a| * |b| states.

interface CharSet {
  readonly negated: boolean;
  readonly ranges: readonly (readonly [number, number])[];
}

interface Token {
  readonly set: CharSet;
  readonly repeat: '' | '*' | '?';
}

const anyChar: CharSet = { negated: true, ranges: [] };

/** The product automaton explored has at most this many states (memory and time bound). */
const maxProductStates = 1_000_000;

function parseGlob(glob: string): Token[] | string {
  const tokens: Token[] = [];
  const chars = Array.from(glob);
  let i = 0;
  const escaped = (): number | string => {
    i++;
    if (i >= chars.length) return `invalid glob ${JSON.stringify(glob)}: trailing backslash`;
    return chars[i++]!.codePointAt(0)!;
  };
  while (i < chars.length) {
    const c = chars[i]!;
    let set: CharSet;
    if (c === '.') {
      set = anyChar;
      i++;
    } else if (c === '\\') {
      const cp = escaped();
      if (typeof cp === 'string') return cp;
      set = { negated: false, ranges: [[cp, cp]] };
    } else if (c === '[') {
      i++;
      const negated = chars[i] === '^';
      if (negated) i++;
      const ranges: [number, number][] = [];
      while (i < chars.length && chars[i] !== ']') {
        let low: number;
        if (chars[i] === '\\') {
          const cp = escaped();
          if (typeof cp === 'string') return cp;
          low = cp;
        } else {
          low = chars[i++]!.codePointAt(0)!;
        }
        let high = low;
        if (chars[i] === '-' && i + 1 < chars.length && chars[i + 1] !== ']') {
          i++;
          if (chars[i] === '\\') {
            const cp = escaped();
            if (typeof cp === 'string') return cp;
            high = cp;
          } else {
            high = chars[i++]!.codePointAt(0)!;
          }
          if (high < low) return `invalid glob ${JSON.stringify(glob)}: reversed range`;
        }
        ranges.push([low, high]);
      }
      if (i >= chars.length) return `invalid glob ${JSON.stringify(glob)}: unclosed character class`;
      i++;
      set = { negated, ranges };
    } else if (c === ']') {
      // The glob-intersection library's own wording (OPA passes it through).
      return `input:${glob}, pos:${i + 1}, set-close ']' with no preceding '[': the input provided is invalid`;
    } else if (c === '*' || c === '+' || c === '?') {
      return `invalid glob ${JSON.stringify(glob)}: ${c} without a preceding character`;
    } else {
      const cp = c.codePointAt(0)!;
      set = { negated: false, ranges: [[cp, cp]] };
      i++;
    }
    const flag = chars[i];
    if (flag === '*' || flag === '?') {
      tokens.push({ set, repeat: flag });
      i++;
    } else if (flag === '+') {
      tokens.push({ set, repeat: '' }, { set, repeat: '*' });
      i++;
    } else {
      tokens.push({ set, repeat: '' });
    }
  }
  return tokens;
}

function covered(point: number, ranges: CharSet['ranges']): number | undefined {
  for (const [low, high] of ranges) if (point >= low && point <= high) return high;
  return undefined;
}

/** Whether some character is in both sets. */
function intersects(a: CharSet, b: CharSet): boolean {
  if (a.negated && b.negated) return true;
  if (!a.negated && !b.negated) {
    return a.ranges.some(([al, ah]) => b.ranges.some(([bl, bh]) => al <= bh && bl <= ah));
  }
  const [positive, negative] = a.negated ? [b, a] : [a, b];
  // A positive range escapes the negated set's ranges somewhere: walk it past every covered stretch.
  for (const [low, high] of positive.ranges) {
    let point = low;
    for (let end = covered(point, negative.ranges); end !== undefined && point <= high; end = covered(point, negative.ranges)) {
      point = end + 1;
    }
    if (point <= high) return true;
  }
  return false;
}

/** States reachable without consuming a character (skipping `*` and `?` tokens). */
function closure(tokens: readonly Token[], state: number): number[] {
  const states = [state];
  while (state < tokens.length && tokens[state]!.repeat !== '') states.push(++state);
  return states;
}

export function globsIntersect(a: string, b: string): boolean | string {
  const left = parseGlob(a);
  if (typeof left === 'string') return left;
  const right = parseGlob(b);
  if (typeof right === 'string') return right;
  if ((left.length + 1) * (right.length + 1) > maxProductStates) return 'globs too large to intersect';
  const seen = new Set<number>();
  const width = right.length + 1;
  const queue: [number, number][] = [];
  const visit = (i: number, j: number) => {
    for (const x of closure(left, i)) {
      for (const y of closure(right, j)) {
        if (!seen.has(x * width + y)) {
          seen.add(x * width + y);
          queue.push([x, y]);
        }
      }
    }
  };
  visit(0, 0);
  for (let k = 0; k < queue.length; k++) {
    const [i, j] = queue[k]!;
    if (i === left.length && j === right.length) return true;
    if (i === left.length || j === right.length) continue;
    const x = left[i]!;
    const y = right[j]!;
    if (!intersects(x.set, y.set)) continue;
    const nextX = x.repeat === '*' ? [i, i + 1] : [i + 1];
    const nextY = y.repeat === '*' ? [j, j + 1] : [j + 1];
    for (const ni of nextX) for (const nj of nextY) visit(ni, nj);
  }
  return false;
}
