// The authz filter's part of a control-plane snapshot: Assets and AuthorizationPolicies, the
// workload's labels, and default-deny unless peer authentication is relaxed. The result is what
// a static YAML config would say, so both paths go through the same validation and filter.
import type { Snapshot } from '../../xds/snapshot.js';

export function authzConfigFromSnapshot(snapshot: Snapshot): Record<string, unknown> {
  const self = snapshot.workload;
  // PERMISSIVE or DISABLE peer authentication relaxes the default; STRICT (or none) denies
  // requests to an asset that no policy covers.
  const relaxed = snapshot.peerAuthentications.some(
    (pa) => (pa.spec.workload === undefined || pa.spec.workload === self?.metadata.name) && pa.spec.mode !== 'STRICT',
  );
  return {
    workloadLabels: self?.metadata.labels ?? {},
    defaultDeny: !relaxed,
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
