// Rego values. Builtins and the evaluator work through this module's API only, so the
// representation can change without touching them.
//
// - null, boolean, string: as in JavaScript.
// - number: a JS number; integers outside ±(2^53-1) are kept exactly as bigint. `normalizeNumber`
//   turns a safe-range bigint back into a number, so one value has one representation.
// - array: a frozen JS array of values.
// - object: RegoObject (keys of any type; insertion order kept, comparisons sort).
// - set: RegoSet.
// Values are immutable once built: builders (`ObjectBuilder`, `SetBuilder`) produce them.
// Plain JSON never reaches JavaScript prototypes: keys live in Maps, never as properties.

export type RegoNumber = number | bigint;
export type Value = null | boolean | RegoNumber | string | readonly Value[] | RegoObject | RegoSet;
export type TypeName = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'set';

type Primitive = null | boolean | number | bigint | string;

function isPrimitive(value: Value): value is Primitive {
  return value === null || typeof value !== 'object';
}

/** Key under which a value is stored in a Map: primitives as themselves, composites by their canonical text. */
type MapKey = Primitive | CompositeKey;

/** Interned box for a composite key, so that equal arrays/objects/sets map to one Map key. */
class CompositeKey {
  constructor(readonly text: string) {}
}
const compositeKeys = new Map<string, WeakRef<CompositeKey>>();
const keyRegistry = new FinalizationRegistry<string>((text) => {
  const ref = compositeKeys.get(text);
  if (ref !== undefined && ref.deref() === undefined) compositeKeys.delete(text);
});

function mapKey(value: Value): MapKey {
  if (isPrimitive(value)) return value;
  const text = canonicalText(value);
  const existing = compositeKeys.get(text)?.deref();
  if (existing !== undefined) return existing;
  const key = new CompositeKey(text);
  compositeKeys.set(text, new WeakRef(key));
  keyRegistry.register(key, text);
  return key;
}

export class RegoObject {
  private entryMap: ReadonlyMap<MapKey, readonly [Value, Value]> | undefined;
  /** Plain JSON object this value stands for, converted on access (see `fromPlainJSON`). */
  private readonly plain: Readonly<Record<string, unknown>> | undefined;
  private converted: Map<string, Value> | undefined;

  /** @internal */
  constructor(map: ReadonlyMap<MapKey, readonly [Value, Value]> | undefined, plain?: Readonly<Record<string, unknown>>) {
    this.entryMap = map;
    this.plain = plain;
  }

  static readonly empty = new RegoObject(new Map());

  /** @internal A value backed by a plain JSON object, whose members are converted when first read. */
  static fromPlain(plain: Readonly<Record<string, unknown>>): RegoObject {
    return new RegoObject(undefined, plain);
  }

  private get map(): ReadonlyMap<MapKey, readonly [Value, Value]> {
    if (this.entryMap === undefined) {
      const map = new Map<MapKey, readonly [Value, Value]>();
      for (const key of Object.keys(this.plain!)) map.set(key, [key, this.plainMember(key)!]);
      this.entryMap = map;
    }
    return this.entryMap;
  }

  private plainMember(key: string): Value | undefined {
    const plain = this.plain!;
    if (!Object.hasOwn(plain, key)) return undefined;
    let raw = plain[key];
    const lazy = typeof raw === 'function';
    if (!lazy && (raw === null || typeof raw !== 'object')) return fromPlainJSON(raw);
    this.converted ??= new Map();
    let value = this.converted.get(key);
    if (value === undefined) {
      // A function member is lazy input: called when the member is first read, its value kept.
      if (lazy) raw = (raw as () => unknown)();
      value = fromPlainJSON(raw);
      this.converted.set(key, value);
    }
    return value;
  }

  get size(): number {
    return this.map.size;
  }
  get(key: Value): Value | undefined {
    if (this.entryMap === undefined && this.plain !== undefined) {
      return typeof key === 'string' ? this.plainMember(key) : undefined;
    }
    return this.map.get(mapKey(key))?.[1];
  }
  has(key: Value): boolean {
    if (this.entryMap === undefined && this.plain !== undefined) {
      return typeof key === 'string' && Object.hasOwn(this.plain, key);
    }
    return this.map.has(mapKey(key));
  }
  *entries(): IterableIterator<readonly [Value, Value]> {
    yield* this.map.values();
  }
  *keys(): IterableIterator<Value> {
    for (const entry of this.map.values()) yield entry[0];
  }
  *values(): IterableIterator<Value> {
    for (const entry of this.map.values()) yield entry[1];
  }
  /** A new object with `key` set to `value`. */
  with(key: Value, value: Value): RegoObject {
    const map = new Map(this.map);
    map.set(mapKey(key), [key, value]);
    return new RegoObject(map);
  }
  /** A new object without `key`. */
  without(key: Value): RegoObject {
    const map = new Map(this.map);
    map.delete(mapKey(key));
    return new RegoObject(map);
  }
}

export class ObjectBuilder {
  private readonly map = new Map<MapKey, readonly [Value, Value]>();
  get size(): number {
    return this.map.size;
  }
  get(key: Value): Value | undefined {
    return this.map.get(mapKey(key))?.[1];
  }
  set(key: Value, value: Value): this {
    this.map.set(mapKey(key), [key, value]);
    return this;
  }
  build(): RegoObject {
    return new RegoObject(this.map);
  }
}

export class RegoSet {
  /** @internal */
  constructor(private readonly map: ReadonlyMap<MapKey, Value>) {}

  static readonly empty = new RegoSet(new Map());

  get size(): number {
    return this.map.size;
  }
  has(value: Value): boolean {
    return this.map.has(mapKey(value));
  }
  values(): IterableIterator<Value> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<Value> {
    return this.map.values();
  }
}

export class SetBuilder {
  private readonly map = new Map<MapKey, Value>();
  get size(): number {
    return this.map.size;
  }
  has(value: Value): boolean {
    return this.map.has(mapKey(value));
  }
  add(value: Value): this {
    const key = mapKey(value);
    if (!this.map.has(key)) this.map.set(key, value);
    return this;
  }
  build(): RegoSet {
    return new RegoSet(this.map);
  }
}

export function makeObject(entries: Iterable<readonly [Value, Value]>): RegoObject {
  const builder = new ObjectBuilder();
  for (const [key, value] of entries) builder.set(key, value);
  return builder.build();
}

export function makeSet(values: Iterable<Value>): RegoSet {
  const builder = new SetBuilder();
  for (const value of values) builder.add(value);
  return builder.build();
}

export function makeArray(values: Iterable<Value>): readonly Value[] {
  return Object.freeze(Array.from(values));
}

export function isNumber(value: Value | undefined): value is RegoNumber {
  return typeof value === 'number' || typeof value === 'bigint';
}
export function isArray(value: Value | undefined): value is readonly Value[] {
  return Array.isArray(value);
}
export function isObject(value: Value | undefined): value is RegoObject {
  return value instanceof RegoObject;
}
export function isSet(value: Value | undefined): value is RegoSet {
  return value instanceof RegoSet;
}

/**
 * The number a decimal literal denotes (`12`, `-1.5`, `1e30`): integers written as digits with an
 * optional positive exponent stay exact, as bigint beyond the safe range; a literal with a fraction
 * or a negative exponent is a floating-point number.
 */
export function numberFromText(text: string): RegoNumber {
  const asNumber = Number(text);
  if (Number.isSafeInteger(asNumber)) return asNumber;
  const match = /^(-?\d+)(?:[eE]\+?(\d+))?$/.exec(text);
  if (match === null) return asNumber;
  const shift = Number(match[2] ?? '0');
  if (shift > 400) return asNumber;
  return normalizeNumber(BigInt(match[1]!) * 10n ** BigInt(shift));
}

/** A bigint inside the safe integer range becomes a number; anything else is kept. */
export function normalizeNumber(value: RegoNumber): RegoNumber {
  if (typeof value === 'bigint' && value >= -MAX_SAFE && value <= MAX_SAFE) return Number(value);
  return value;
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function typeName(value: Value): TypeName {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
    default:
      if (Array.isArray(value)) return 'array';
      return value instanceof RegoSet ? 'set' : 'object';
  }
}

// OPA's order between types: null < boolean < number < string < array < object < set.
const typeRank: Record<TypeName, number> = {
  null: 0,
  boolean: 1,
  number: 2,
  string: 3,
  array: 4,
  object: 5,
  set: 6,
};

function compareNumbers(a: RegoNumber, b: RegoNumber): number {
  if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
  // Mixed bigint/number compare exactly in JavaScript.
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  // Go compares strings bytewise (UTF-8); code-point order gives the same result.
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Total order on values, as OPA sorts them. */
export function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb) return typeRank[ta] - typeRank[tb];
  switch (ta) {
    case 'null':
      return 0;
    case 'boolean':
      return a === b ? 0 : a ? 1 : -1;
    case 'number':
      return compareNumbers(a as RegoNumber, b as RegoNumber);
    case 'string':
      return compareStrings(a as string, b as string);
    case 'array':
      return compareSequences(a as readonly Value[], b as readonly Value[]);
    case 'set':
      return compareSequences(sortedValues(a as RegoSet), sortedValues(b as RegoSet));
    case 'object':
      return compareObjects(a as RegoObject, b as RegoObject);
  }
}

function compareSequences(a: readonly Value[], b: readonly Value[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const c = compare(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareObjects(a: RegoObject, b: RegoObject): number {
  const keysA = [...a.keys()].sort(compare);
  const keysB = [...b.keys()].sort(compare);
  const length = Math.min(keysA.length, keysB.length);
  for (let i = 0; i < length; i++) {
    const c = compare(keysA[i]!, keysB[i]!);
    if (c !== 0) return c;
    const v = compare(a.get(keysA[i]!)!, b.get(keysB[i]!)!);
    if (v !== 0) return v;
  }
  return keysA.length - keysB.length;
}

export function sortedValues(set: RegoSet): Value[] {
  return [...set.values()].sort(compare);
}

export function equals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (isPrimitive(a) || isPrimitive(b)) {
    return isNumber(a) && isNumber(b) ? a == b : false;
  }
  return compare(a, b) === 0;
}

/** Deterministic text of a value: equal values give equal text. Used for keys and hashing. */
export function canonicalText(value: Value): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return String(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return JSON.stringify(value);
    default:
      if (Array.isArray(value)) return `[${value.map(canonicalText).join(',')}]`;
      if (value instanceof RegoSet) return `{|${sortedValues(value).map(canonicalText).join(',')}|}`;
      return `{${[...(value as RegoObject).keys()]
        .sort(compare)
        .map((key) => `${canonicalText(key)}:${canonicalText((value as RegoObject).get(key)!)}`)
        .join(',')}}`;
  }
}

/** JSON-shaped data (parsed JSON or YAML) to a value. Object keys are data, never properties. */
export function fromJSON(data: unknown): Value {
  if (data === null || data === undefined) return null;
  switch (typeof data) {
    case 'boolean':
    case 'string':
      return data;
    case 'number':
      return data;
    case 'bigint':
      return normalizeNumber(data);
    case 'object': {
      if (Array.isArray(data)) return Object.freeze(data.map(fromJSON));
      if (data instanceof RegoObject || data instanceof RegoSet) return data;
      const builder = new ObjectBuilder();
      for (const key of Object.keys(data)) builder.set(key, fromJSON((data as Record<string, unknown>)[key]));
      return builder.build();
    }
    default:
      throw new TypeError(`cannot convert ${typeof data} to a Rego value`);
  }
}

/**
 * Like `fromJSON`, but objects are converted lazily, member by member, when the evaluation reads
 * them: an input document costs only what the policy looks at. The data must not change while
 * the value is in use.
 */
export function fromPlainJSON(data: unknown): Value {
  if (data === null || data === undefined) return null;
  switch (typeof data) {
    case 'boolean':
    case 'string':
    case 'number':
      return data;
    case 'bigint':
      return normalizeNumber(data);
    case 'object': {
      if (Array.isArray(data)) return Object.freeze(data.map(fromPlainJSON));
      if (data instanceof RegoObject || data instanceof RegoSet) return data;
      return RegoObject.fromPlain(data as Record<string, unknown>);
    }
    default:
      throw new TypeError(`cannot convert ${typeof data} to a Rego value`);
  }
}

/**
 * A value as JSON-shaped data, as OPA serialises it: sets become sorted arrays, object keys
 * become strings (non-string keys as their JSON text). The result has null-prototype objects.
 */
export function toJSON(value: Value): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toJSON);
  if (value instanceof RegoSet) return sortedValues(value).map(toJSON);
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, item] of (value as RegoObject).entries()) {
    out[typeof key === 'string' ? key : JSON.stringify(toJSON(key))] = toJSON(item);
  }
  return out;
}

/** JSON text of a value, as OPA prints it: object keys sorted, sets as sorted arrays, big integers exact. */
export function toJSONText(value: Value): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`${value} cannot be represented in JSON`);
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return JSON.stringify(value);
    default:
      if (Array.isArray(value)) return `[${value.map(toJSONText).join(',')}]`;
      if (value instanceof RegoSet) return `[${sortedValues(value).map(toJSONText).join(',')}]`;
      return `{${[...(value as RegoObject).entries()]
        .map(([key, item]) => [typeof key === 'string' ? key : toJSONText(key), item] as const)
        .sort(([a], [b]) => compare(a, b))
        .map(([key, item]) => `${JSON.stringify(key)}:${toJSONText(item)}`)
        .join(',')}}`;
  }
}
