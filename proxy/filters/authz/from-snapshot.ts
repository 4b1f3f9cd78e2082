// The one translation from a control-plane snapshot (proxy/xds/snapshot.ts) to the inbound
// filter chain's configs: RequestAuthentications become the jwt filter, Assets and
// AuthorizationPolicies the authz filter, then the router. The result is what a static YAML
// config would say, so both paths go through the same validation and the same filters.
import { durationMs } from '../../../control-plane/api/resource-codec.js';
import type { FilterConfig, MtlsMode } from '../../config/types.js';
import type { Snapshot } from '../../xds/snapshot.js';

/** `mtls`: the inbound mode the listener runs (`inboundMtlsMode`); STRICT denies by default. */
export function inboundFiltersFromSnapshot(snapshot: Snapshot, mtls: MtlsMode): FilterConfig[] {
  const filters: FilterConfig[] = [];
  const rules = snapshot.requestAuthentications.flatMap((ra) =>
    ra.spec.jwtRules.map(({ clockSkew, ...rule }) => ({
      ...rule,
      ...(clockSkew === undefined ? {} : { clockSkewSeconds: Math.ceil(durationMs(clockSkew) / 1000) }),
      source: `RequestAuthentication ${ra.metadata.namespace}/${ra.metadata.name}`,
    })),
  );
  if (rules.length > 0) filters.push({ name: 'jwt', config: { rules } });
  const self = snapshot.workload;
  // The mode the listener runs, with the listener's precedence (workload over namespace over
  // mesh, the app's port over the whole): STRICT denies requests to an asset no policy covers,
  // PERMISSIVE or DISABLE relaxes that.
  filters.push({
    name: 'authz',
    config: {
      workloadLabels: self?.metadata.labels ?? {},
      defaultDeny: mtls === 'STRICT',
      assets: snapshot.assets.map((asset) => ({
        name: asset.metadata.name,
        labels: asset.metadata.labels,
        match: asset.spec.match,
        ...(asset.spec.requestBody === undefined ? {} : { requestBody: asset.spec.requestBody }),
      })),
      policies: snapshot.policies.map((policy) => ({
        name: policy.metadata.name,
        modules: policy.spec.modules,
        entrypoint: policy.spec.entrypoint,
        targets: policy.spec.targets,
        mode: policy.spec.mode,
        data: policy.spec.data ?? {},
      })),
    },
  });
  filters.push({ name: 'router', config: {} });
  return filters;
}
