// The sidecar's view of the mesh, as the control plane computed it for this sidecar: decoded
// from the wire (or from the persisted copy) through one boundary, validated against the
// published resource schemas, frozen. Anything malformed refuses the whole snapshot.
import { decodeResource, deepFreeze } from '../../control-plane/api/resource-codec.js';
import type { AnyResource, Resource } from '../../control-plane/api/resource-types.js';

export interface Snapshot {
  readonly version: string;
  readonly revision: number;
  /** This sidecar's own Workload; absent while the control plane has none for it. */
  readonly workload?: Resource<'Workload'>;
  readonly assets: readonly Resource<'Asset'>[];
  readonly policies: readonly Resource<'AuthorizationPolicy'>[];
  readonly peerAuthentications: readonly Resource<'PeerAuthentication'>[];
  readonly requestAuthentications: readonly Resource<'RequestAuthentication'>[];
  /** Services this sidecar may call, by name, with their endpoints. */
  readonly services: ReadonlyMap<string, Resource<'Workload'>>;
  /** Routes by the service they lead to. */
  readonly routes: ReadonlyMap<string, Resource<'Route'>>;
  /** JSON facades this sidecar serves in front of its app. */
  readonly legacyBridges: readonly Resource<'LegacyBridge'>[];
  /** Pools this sidecar serves in (its app is a model server) or calls. */
  readonly inferencePools: readonly Resource<'InferencePool'>[];
  readonly inferenceObjectives: readonly Resource<'InferenceObjective'>[];
}

/** The snapshot as carried on the wire and persisted: resource documents as JSON text. */
export interface SnapshotDocuments {
  readonly versionInfo: string;
  readonly revision: number;
  readonly documents: readonly string[];
}

export class SnapshotRejectedError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'SnapshotRejectedError';
    this.problems = problems;
  }
}

const VERSION = /^[A-Za-z0-9._:-]{1,128}$/;

export function decodeSnapshot(wire: SnapshotDocuments, self: { workload: string; namespace: string }): Snapshot {
  const problems: string[] = [];
  if (!VERSION.test(wire.versionInfo)) problems.push('version_info is not a version string');
  if (!Number.isSafeInteger(wire.revision) || wire.revision < 0) problems.push('revision is not a count');
  const resources: AnyResource[] = [];
  wire.documents.forEach((text, index) => {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      problems.push(`resources[${index}]: not JSON`);
      return;
    }
    const decoded = decodeResource(document);
    if (!decoded.ok) {
      problems.push(...decoded.issues.map((issue) => `resources[${index}].${issue.path}: ${issue.message}`));
      return;
    }
    if (decoded.resource.metadata.namespace !== self.namespace) {
      problems.push(`resources[${index}]: ${decoded.resource.kind} ${decoded.resource.metadata.name} is not in namespace ${self.namespace}`);
      return;
    }
    resources.push(decoded.resource);
  });
  const byKind = <K extends AnyResource['kind']>(kind: K) => resources.filter((r) => r.kind === kind) as unknown as Resource<K>[];
  const workloads = byKind('Workload');
  const services = new Map(workloads.filter((w) => w.metadata.name !== self.workload).map((w) => [w.metadata.name, w]));
  const routes = new Map<string, Resource<'Route'>>();
  for (const route of byKind('Route')) {
    if (routes.has(route.spec.service)) problems.push(`two routes lead to service ${route.spec.service}`);
    routes.set(route.spec.service, route);
  }
  if (problems.length > 0) throw new SnapshotRejectedError(problems);
  const workload = workloads.find((w) => w.metadata.name === self.workload);
  return deepFreeze({
    version: wire.versionInfo,
    revision: wire.revision,
    ...(workload === undefined ? {} : { workload }),
    assets: byKind('Asset'),
    policies: byKind('AuthorizationPolicy'),
    peerAuthentications: byKind('PeerAuthentication'),
    requestAuthentications: byKind('RequestAuthentication'),
    services,
    routes,
    legacyBridges: byKind('LegacyBridge'),
    inferencePools: byKind('InferencePool'),
    inferenceObjectives: byKind('InferenceObjective'),
  });
}
