// Builtins OPA deprecated and removed from Rego v1, still callable from v0 modules (old policies
// use them). `deprecatedBuiltinNames` lets the compiler refuse them in v1 modules, as OPA does.
import { isSet, makeArray, makeSet, sortedValues, type RegoSet, type Value } from '../value.js';
import { netBuiltins } from './net.js';
import { regexMatchAs } from './regex.js';
import { setDifference } from './set-algebra.js';
import { define } from './support.js';
import type { ArgType } from './registry.js';

const members = (collection: Value) => (isSet(collection) ? [...collection] : [...(collection as readonly Value[])]);

const identityCast = (name: string, type: ArgType) => define(name, [type], ([value]) => value!);

const cidrContains = netBuiltins.find((builtin) => builtin.name === 'net.cidr_contains')!;

export const deprecatedBuiltins = [
  define('any', [['array', 'set']], ([collection]) => members(collection!).some((value) => value === true)),
  define('all', [['array', 'set']], ([collection]) => members(collection!).every((value) => value === true)),
  define('set_diff', ['set', 'set'], ([a, b]) => setDifference(a as RegoSet, b as RegoSet)),
  define('cast_array', [['array', 'set']], ([value]) => (isSet(value) ? makeArray(sortedValues(value)) : value!)),
  define('cast_set', [['array', 'set']], ([value]) => (isSet(value) ? value : makeSet(value as readonly Value[]))),
  identityCast('cast_string', 'string'),
  identityCast('cast_boolean', 'boolean'),
  identityCast('cast_null', 'null'),
  identityCast('cast_object', 'object'),
  define('net.cidr_overlap', ['string', 'string'], (args, context) => cidrContains.call(args, context)),
  regexMatchAs('re_match'),
];

export const deprecatedBuiltinNames: ReadonlySet<string> = new Set(deprecatedBuiltins.map((b) => b.name));
