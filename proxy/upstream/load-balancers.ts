// Load balancers: one interface, a registry, and the policies registered in it. A balancer is
// registered with its own config schema (checked when the sidecar config is loaded, as a filter's
// is) and built with that config once per cluster. A cluster asks it for an endpoint among the
// healthy ones on every request, passing the request too (headers, what filters attached to it,
// the caller's identity), so a balancer may choose by the request (a model named in the body, a
// tenant) and by what the endpoints carry (labels, weight, models served, a metrics URL).
// `pick` runs on every request: it must not allocate.
import type { EndUser } from '../filters/http-filter.js';

/** What an endpoint carries besides its address, from the config or the control plane. */
export interface EndpointMetadata {
  readonly labels: Readonly<Record<string, string>>;
  /** Relative share of requests (1 unless set). */
  readonly weight: number;
  /** Models the endpoint serves (inference endpoints). */
  readonly models?: readonly string[];
  /** Where the endpoint's load metrics are read (inference endpoints). */
  readonly metricsUrl?: string;
}

/** What a balancer may look at on an endpoint. */
export interface BalancedEndpoint {
  /** Requests in flight to this endpoint. */
  readonly active: number;
  readonly metadata: EndpointMetadata;
  /** `address:port`, the same in every sidecar (a balancer hashing on endpoints keys on it). */
  readonly label?: string;
}

/** What a balancer sees of the request (the exchange filters saw, unchanged). */
export interface PickRequest {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  /** Flat [name, value, ...], lower-case names, as they go upstream. */
  readonly requestHeaders: readonly string[];
  /** The caller's SPIFFE ID (inbound, over mutual TLS). */
  readonly sourcePrincipal: string | undefined;
  readonly endUser: EndUser | undefined;
  /** What filters attached, e.g. a summary of the body an inference filter parsed. */
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
}

export interface LoadBalancer {
  /**
   * One of `healthy` (never empty when called), chosen by the policy, or undefined when none may
   * serve this request (the caller gets 503 NO_HEALTHY_UPSTREAM).
   */
  pick<E extends BalancedEndpoint>(healthy: readonly E[], request: PickRequest): E | undefined;
}

export interface LoadBalancerFactory {
  readonly name: string;
  /** JSON Schema of this balancer's config (the cluster's `loadBalancerConfig`). */
  readonly configSchema: object;
  create(config: Readonly<Record<string, unknown>>): LoadBalancer;
}

/** Round robin; endpoints of unequal weight get requests in proportion (smooth weighted round robin, as nginx). */
class RoundRobin implements LoadBalancer {
  private next = 0;
  /** Per endpoint, for weighted rounds: its current credit. */
  private readonly credit = new WeakMap<BalancedEndpoint, number>();

  pick<E extends BalancedEndpoint>(healthy: readonly E[]): E {
    if (healthy.length > 1 && healthy.some((e) => e.metadata.weight !== 1)) return this.weighted(healthy);
    if (this.next >= healthy.length) this.next = 0;
    return healthy[this.next++]!;
  }

  private weighted<E extends BalancedEndpoint>(healthy: readonly E[]): E {
    let total = 0;
    let best = healthy[0]!;
    let bestCredit = -Infinity;
    for (const endpoint of healthy) {
      const weight = endpoint.metadata.weight;
      const credit = (this.credit.get(endpoint) ?? 0) + weight;
      this.credit.set(endpoint, credit);
      total += weight;
      if (credit > bestCredit) {
        best = endpoint;
        bestCredit = credit;
      }
    }
    this.credit.set(best, bestCredit - total);
    return best;
  }
}

/**
 * Least request with the power of N choices (Envoy's `choice_count`, default 2): N random
 * endpoints, the one with the fewest requests in flight for its weight wins.
 */
class LeastRequest implements LoadBalancer {
  constructor(private readonly choiceCount: number) {}

  pick<E extends BalancedEndpoint>(healthy: readonly E[]): E {
    const n = healthy.length;
    if (n === 1) return healthy[0]!;
    // Distinct choices: the first at random, the others at random offsets after it.
    const first = (Math.random() * n) | 0;
    let best = healthy[first]!;
    let bestLoad = best.active / best.metadata.weight;
    const choices = Math.min(this.choiceCount, n);
    let offset = 0;
    for (let c = 1; c < choices; c++) {
      offset += 1 + ((Math.random() * (n - offset - (choices - c))) | 0);
      const candidate = healthy[(first + offset) % n]!;
      const load = candidate.active / candidate.metadata.weight;
      if (load < bestLoad) {
        best = candidate;
        bestLoad = load;
      }
    }
    return best;
  }
}

/** Uniformly at random, whatever the load: the baseline a load-aware policy has to beat. */
class RandomChoice implements LoadBalancer {
  pick<E extends BalancedEndpoint>(healthy: readonly E[]): E {
    return healthy[(Math.random() * healthy.length) | 0]!;
  }
}

const registry = new Map<string, LoadBalancerFactory>();

export function registerLoadBalancer(factory: LoadBalancerFactory): void {
  if (registry.has(factory.name)) throw new Error(`load balancer '${factory.name}' is registered twice`);
  registry.set(factory.name, factory);
}

export function loadBalancerFactory(name: string): LoadBalancerFactory | undefined {
  return registry.get(name);
}

export function loadBalancerNames(): string[] {
  return [...registry.keys()];
}

/** Builds the balancer `name` with its config (validated when the sidecar config was loaded). */
export function createLoadBalancer(name: string, config: Readonly<Record<string, unknown>>): LoadBalancer {
  const factory = registry.get(name);
  if (factory === undefined) throw new Error(`no load balancer named '${name}' is registered`);
  return factory.create(config);
}

registerLoadBalancer({
  name: 'round_robin',
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  create: () => new RoundRobin(),
});
registerLoadBalancer({
  name: 'random',
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  create: () => new RandomChoice(),
});
registerLoadBalancer({
  name: 'least_request',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { choiceCount: { type: 'integer', minimum: 2, maximum: 10, default: 2 } },
  },
  create: (config) => new LeastRequest((config.choiceCount as number | undefined) ?? 2),
});
