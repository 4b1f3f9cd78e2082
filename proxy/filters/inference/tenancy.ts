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

/**
 * The objective for a request: the most specific of those matching its model and (per the
 * objective's own tenant source) its tenant; equals by name, so every sidecar picks the same.
 */
export function objectiveFor(objectives: readonly NamedObjective[], model: string, workloadPrincipal: string | undefined, endUser: EndUser | undefined): { objective: NamedObjective; tenant: string | undefined } | undefined {
  let best: { objective: NamedObjective; tenant: string | undefined } | undefined;
  for (const objective of objectives) {
    const { spec } = objective;
    if (spec.models !== undefined && !spec.models.includes(model)) continue;
    const tenant = tenantOf(spec.tenantFrom, workloadPrincipal, endUser);
    if (spec.tenants !== undefined && (tenant === undefined || !spec.tenants.includes(tenant))) continue;
    const better = best === undefined
      || specificity(spec) > specificity(best.objective.spec)
      || (specificity(spec) === specificity(best.objective.spec) && objective.name < best.objective.name);
    if (better) best = { objective, tenant };
  }
  return best;
}
