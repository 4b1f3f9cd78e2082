// Who a request is for and which InferenceObjective governs it. The tenant comes only from a
// verified identity: the SPIFFE ID of the workload making the call (the caller's sidecar knows
// its own app's) or a claim of an end-user JWT the jwt filter verified; never from a header the
// client sets. No verified tenant means no tenant: the filter refuses (fails closed).
import type { InferenceObjectiveSpec } from '../../../control-plane/api/resource-types.js';
import type { EndUser } from '../http-filter.js';

const MAX_TENANT_CHARS = 2048;

export function tenantOf(tenantFrom: InferenceObjectiveSpec['tenantFrom'], workloadPrincipal: string | undefined, endUser: EndUser | undefined): string | undefined {
  if (tenantFrom.source === 'spiffe') return workloadPrincipal;
  const value = endUser?.claims[tenantFrom.claim];
  return typeof value === 'string' && value !== '' && value.length <= MAX_TENANT_CHARS ? value : undefined;
}

export interface NamedObjective {
  readonly name: string;
  readonly spec: InferenceObjectiveSpec;
}

/** How specific an objective is: one naming both model and tenant beats one naming either. */
function specificity(spec: InferenceObjectiveSpec): number {
  return (spec.models === undefined ? 0 : 1) + (spec.tenants === undefined ? 0 : 2);
}

export interface ObjectiveMatch<O extends NamedObjective = NamedObjective> {
  readonly objective: O;
  /** The tenant by the objective's own tenant source. */
  readonly tenant: string | undefined;
}

/** Every objective whose models and (per its own tenant source) tenants take the request: each one's budgets apply to it. */
export function matchingObjectives<O extends NamedObjective>(objectives: readonly O[], model: string, workloadPrincipal: string | undefined, endUser: EndUser | undefined): ObjectiveMatch<O>[] {
  const matches: ObjectiveMatch<O>[] = [];
  for (const objective of objectives) {
    const { spec } = objective;
    if (spec.models !== undefined && !spec.models.includes(model)) continue;
    const tenant = tenantOf(spec.tenantFrom, workloadPrincipal, endUser);
    if (spec.tenants !== undefined && (tenant === undefined || !spec.tenants.includes(tenant))) continue;
    matches.push({ objective, tenant });
  }
  return matches;
}

/**
 * The objective that sets a request's priority and TTFT objective: the most specific of those
 * matching it; equals by name, so every sidecar picks the same.
 */
export function governingObjective<O extends NamedObjective>(matches: readonly ObjectiveMatch<O>[]): ObjectiveMatch<O> | undefined {
  let best: ObjectiveMatch<O> | undefined;
  for (const match of matches) {
    const spec = match.objective.spec;
    const better = best === undefined
      || specificity(spec) > specificity(best.objective.spec)
      || (specificity(spec) === specificity(best.objective.spec) && match.objective.name < best.objective.name);
    if (better) best = match;
  }
  return best;
}
