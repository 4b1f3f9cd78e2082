// semver.is_valid and semver.compare: strict SemVer 2.0.0 as OPA parses it (exactly three numeric
// parts, no "v" prefix; build metadata ignored when comparing). Written here rather than with
// npm's semver, which accepts prefixes ("v1.0.0", "=1.0.0") that OPA rejects.
import { builtinError, define } from './support.js';

interface Version {
  readonly core: readonly [bigint, bigint, bigint];
  readonly prerelease: readonly string[];
}

const identifier = /^[0-9A-Za-z-]+$/;
const maxInt64 = 2n ** 63n - 1n;

export function parseSemver(text: string): Version | undefined {
  const plus = text.indexOf('+');
  const withoutBuild = plus === -1 ? text : text.slice(0, plus);
  if (plus !== -1 && !text.slice(plus + 1).split('.').every((part) => identifier.test(part))) return undefined;
  const dash = withoutBuild.indexOf('-');
  const core = dash === -1 ? withoutBuild : withoutBuild.slice(0, dash);
  const prerelease = dash === -1 ? [] : withoutBuild.slice(dash + 1).split('.');
  if (!prerelease.every((part) => identifier.test(part))) return undefined;
  const parts = core.split('.');
  if (parts.length !== 3 || !parts.every((part) => /^\d+$/.test(part))) return undefined;
  const numbers = parts.map(BigInt) as [bigint, bigint, bigint];
  if (numbers.some((n) => n > maxInt64)) return undefined;
  return { core: numbers, prerelease };
}

function compareIdentifiers(a: string, b: string): number {
  const numericA = /^\d+$/.test(a);
  const numericB = /^\d+$/.test(b);
  if (numericA && numericB) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (numericA !== numericB) return numericA ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareSemver(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    if (a.core[i]! !== b.core[i]!) return a.core[i]! < b.core[i]! ? -1 : 1;
  }
  // A version without a pre-release ranks above any with one.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const c = compareIdentifiers(a.prerelease[i]!, b.prerelease[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

function versionOperand(position: number, text: string): Version {
  const version = parseSemver(text);
  if (version === undefined) throw builtinError('semver.compare', `operand ${position}: string ${JSON.stringify(text)} is not a valid SemVer`);
  return version;
}

export const semverBuiltins = [
  define('semver.is_valid', ['any'], ([value]) => typeof value === 'string' && parseSemver(value) !== undefined),
  define('semver.compare', ['string', 'string'], ([a, b]) =>
    compareSemver(versionOperand(1, a as string), versionOperand(2, b as string)),
  ),
];
