// The filters a config may name, registered explicitly. Later filters (inference routing, legacy
// bridges) register here too. Filters that pull in large modules (the Rego engine, jose: about
// 30 MB resident together) are registered lazily: their config schema and snapshot translation
// are known at once, their code is loaded by `loadFilters` only when a config names them, before
// snapshots are built. A control-plane snapshot becomes the inbound chain by asking each filter
// for its part (`fromSnapshot`), in registration order, the terminal filter last.
import type { FilterConfig } from '../config/types.js';
import type { Snapshot } from '../xds/snapshot.js';
import type { HttpFilterFactory, InboundListenerFacts } from './http-filter.js';
import { authzConfigSchema } from './authz/authz-config.js';
import { authzConfigFromSnapshot } from './authz/from-snapshot.js';
import { bridgeConfigSchema } from './bridge/bridge-filter-config.js';
import { bridgeConfigFromSnapshot } from './bridge/from-snapshot.js';
import { jwtConfigSchema } from './jwt/jwt-config.js';
import { jwtConfigFromSnapshot } from './jwt/from-snapshot.js';
import { inferenceBalancer } from './inference/inference-balancer.js';
import { inferenceFilter } from './inference/inference-filter.js';
import { loadReportConfigFromSnapshot } from './inference/from-snapshot.js';
import { loadReportFilter } from './inference/load-report-filter.js';
import { registerLoadBalancer } from '../upstream/load-balancers.js';
import { routerFilter } from './router-filter.js';

const filters = new Map<string, HttpFilterFactory>();
const loaders = new Map<string, () => Promise<HttpFilterFactory>>();

export function registerFilter(factory: HttpFilterFactory): void {
  if (filters.has(factory.name)) throw new Error(`filter '${factory.name}' is registered twice`);
  filters.set(factory.name, factory);
}

/** A filter whose implementation is imported by `loadFilters` when a config first names it. */
function registerLazyFilter(
  name: string,
  configSchema: object,
  fromSnapshot: HttpFilterFactory['fromSnapshot'],
  load: () => Promise<HttpFilterFactory>,
): void {
  let loaded: HttpFilterFactory | undefined;
  loaders.set(name, async () => (loaded ??= await load()));
  registerFilter({
    name,
    configSchema,
    fromSnapshot,
    terminal: false,
    create: (config, context) => {
      if (loaded === undefined) throw new Error(`filter '${name}' is used before loadFilters()`);
      return loaded.create(config, context);
    },
  });
}

export function filterFactory(name: string): HttpFilterFactory | undefined {
  return filters.get(name);
}

export function filterNames(): string[] {
  return [...filters.keys()];
}

/** The inbound chain a control-plane snapshot asks for: each registered filter's part of it. */
export function inboundFiltersFromSnapshot(snapshot: Snapshot, inbound: InboundListenerFacts): FilterConfig[] {
  const chain: FilterConfig[] = [];
  let terminal: FilterConfig | undefined;
  for (const factory of filters.values()) {
    const config = factory.fromSnapshot?.(snapshot, inbound);
    if (config === undefined) continue;
    if (factory.terminal) terminal = { name: factory.name, config };
    else chain.push({ name: factory.name, config });
  }
  if (terminal !== undefined) chain.push(terminal);
  return chain;
}

/** Loads the code of the lazily registered filters among `names`. */
export async function loadFilters(names: Iterable<string>): Promise<void> {
  await Promise.all([...new Set(names)].map((name) => loaders.get(name)?.()));
}

// Snapshot chains run in this order: the bridge turns JSON into the legacy call before authz
// decides on it (input.weft.bridge), as a YAML config puts it.
registerLazyFilter('jwt', jwtConfigSchema, jwtConfigFromSnapshot, async () => (await import('./jwt/jwt-filter.js')).jwtFilter);
registerLazyFilter('bridge', bridgeConfigSchema, bridgeConfigFromSnapshot, async () => (await import('./bridge/bridge-filter.js')).bridgeFilter);
registerLazyFilter('authz', authzConfigSchema, authzConfigFromSnapshot, async () => (await import('./authz/authz-filter.js')).authzFilter);
registerFilter(inferenceFilter);
registerFilter({ ...loadReportFilter, fromSnapshot: loadReportConfigFromSnapshot });
registerLoadBalancer(inferenceBalancer);
registerFilter(routerFilter);
