// The authz filter's part of a control-plane snapshot: Assets and AuthorizationPolicies, the
// workload's labels, and default-deny unless the inbound listener runs PERMISSIVE or DISABLE. The result is what
// a static YAML config would say, so both paths go through the same validation and filter.
import type { Snapshot } from '../../xds/snapshot.js';
import type { InboundListenerFacts } from '../http-filter.js';

export function authzConfigFromSnapshot(snapshot: Snapshot, inbound: InboundListenerFacts): Record<string, unknown> {
  const self = snapshot.workload;
  // The mode the listener runs decides the default: STRICT denies requests to an asset no
  // policy covers, PERMISSIVE or DISABLE relaxes that.
  return {
    workloadLabels: self?.metadata.labels ?? {},
    defaultDeny: inbound.mtls === 'STRICT',
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
  };
}
