// The filters a config may name, registered explicitly. Later filters (inference routing, legacy
// bridges) register here too.
import type { HttpFilterFactory } from './http-filter.js';
import { authzFilter } from './authz/authz-filter.js';
import { jwtFilter } from './jwt/jwt-filter.js';
import { routerFilter } from './router-filter.js';

const filters = new Map<string, HttpFilterFactory>();

export function registerFilter(factory: HttpFilterFactory): void {
  if (filters.has(factory.name)) throw new Error(`filter '${factory.name}' is registered twice`);
  filters.set(factory.name, factory);
}

export function filterFactory(name: string): HttpFilterFactory | undefined {
  return filters.get(name);
}

export function filterNames(): string[] {
  return [...filters.keys()];
}

registerFilter(jwtFilter);
registerFilter(authzFilter);
registerFilter(routerFilter);
