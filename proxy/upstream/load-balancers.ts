// Load balancers: one interface, a registry, and the policies registered in it. A cluster asks
// its balancer for an endpoint among the healthy ones on every request, so `pick` must not
// allocate.
import type { LoadBalancerName } from '../config/types.js';

/** What a balancer may look at on an endpoint. */
export interface BalancedEndpoint {
  /** Requests in flight to this endpoint. */
  readonly active: number;
}

export interface LoadBalancer {
  /** One of `healthy` (never empty when called), chosen by the policy. */
  pick<E extends BalancedEndpoint>(healthy: readonly E[]): E;
}

class RoundRobin implements LoadBalancer {
  private next = 0;

  pick<E extends BalancedEndpoint>(healthy: readonly E[]): E {
    if (this.next >= healthy.length) this.next = 0;
    return healthy[this.next++]!;
  }
}

/** Least request with the power of two choices: two distinct random endpoints, the less busy wins. */
class LeastRequest implements LoadBalancer {
  pick<E extends BalancedEndpoint>(healthy: readonly E[]): E {
    const n = healthy.length;
    if (n === 1) return healthy[0]!;
    const first = (Math.random() * n) | 0;
    const second = (first + 1 + ((Math.random() * (n - 1)) | 0)) % n;
    const a = healthy[first]!;
    const b = healthy[second]!;
    return b.active < a.active ? b : a;
  }
}

const registry = new Map<LoadBalancerName, () => LoadBalancer>();

export function registerLoadBalancer(name: LoadBalancerName, create: () => LoadBalancer): void {
  registry.set(name, create);
}

export function createLoadBalancer(name: LoadBalancerName): LoadBalancer {
  const create = registry.get(name);
  if (create === undefined) throw new Error(`no load balancer named '${name}' is registered`);
  return create();
}

registerLoadBalancer('round_robin', () => new RoundRobin());
registerLoadBalancer('least_request', () => new LeastRequest());
