// Picks the most specific asset of the workload for a request: an exact path beats a prefix, a
// longer prefix a shorter one, either beats a glob (by its literal length); a listed method or
// gRPC method adds to the score. A gRPC match is a path match on `/service/method` (exact) or
// `/service/` (prefix), which is what a gRPC request's path is. Globs run on RE2 (re2js): the
// path is the caller's, so its matching time must be linear in its length, whatever the glob.
import { RE2JS } from 're2js';
import type { PathMatch } from '../../../control-plane/api/resource-types.js';
import type { AuthzAssetConfig } from './authz-config.js';

interface PathRule {
  readonly test: (path: string) => boolean;
  readonly score: number;
}

interface CompiledAsset<T> {
  readonly asset: T;
  readonly hosts: ReadonlySet<string> | undefined;
  readonly methods: ReadonlySet<string> | undefined;
  readonly paths: readonly PathRule[];
}

const EXACT = 2_000_000;
const PREFIX = 1_000_000;

/** `**` any run of characters, `*` a run without `/`, `?` one character but `/`; the rest literal. */
function globPattern(glob: string): RE2JS {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      source += '(?s:.*)';
      i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += RE2JS.quote(c);
  }
  return RE2JS.compile(source);
}

function pathRule(match: PathMatch): PathRule {
  if ('exact' in match) return { test: (path) => path === match.exact, score: EXACT + match.exact.length };
  if ('prefix' in match) return { test: (path) => path.startsWith(match.prefix), score: PREFIX + match.prefix.length };
  const pattern = globPattern(match.glob);
  return { test: (path) => pattern.matches(path), score: match.glob.replace(/[*?]/g, '').length };
}

/**
 * Methods compare exactly (the request's method is an upper-case token, request-target.ts). An
 * asset that lists GET also matches HEAD: HEAD is GET without the body (RFC 9110 section 9.3.2),
 * so it never reaches what GET may not; its policies see the method as HEAD.
 */
function methodSet(methods: readonly string[]): ReadonlySet<string> {
  const set = new Set(methods.map((m) => m.toUpperCase()));
  if (set.has('GET')) set.add('HEAD');
  return set;
}

export class AssetMatcher<T extends Pick<AuthzAssetConfig, 'match'>> {
  private readonly assets: readonly CompiledAsset<T>[];

  constructor(assets: readonly T[]) {
    this.assets = assets.map((asset) => {
      const { hosts, methods, paths, grpc } = asset.match;
      const rules = (paths ?? []).map(pathRule);
      if (grpc !== undefined) {
        rules.push(pathRule(grpc.method === undefined ? { prefix: `/${grpc.service}/` } : { exact: `/${grpc.service}/${grpc.method}` }));
      }
      return {
        asset,
        hosts: hosts === undefined ? undefined : new Set(hosts.map((h) => h.toLowerCase())),
        methods: methods === undefined ? undefined : methodSet(methods),
        paths: rules,
      };
    });
  }

  /** `path` without its query. */
  match(method: string, path: string, authority: string): T | undefined {
    let best: T | undefined;
    let bestScore = -1;
    for (const candidate of this.assets) {
      if (candidate.hosts !== undefined && !candidate.hosts.has(authority)) continue;
      if (candidate.methods !== undefined && !candidate.methods.has(method)) continue;
      let pathScore = candidate.paths.length === 0 ? 0 : -1;
      for (const rule of candidate.paths) if (rule.score > pathScore && rule.test(path)) pathScore = rule.score;
      if (pathScore < 0) continue;
      const score = pathScore * 4 + (candidate.methods === undefined ? 0 : 2) + (candidate.hosts === undefined ? 0 : 1);
      if (score > bestScore) {
        best = candidate.asset;
        bestScore = score;
      }
    }
    return best;
  }
}
