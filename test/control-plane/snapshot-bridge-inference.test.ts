// What the control plane sends each sidecar of LegacyBridges and inference pools: a bridge to the
// workload its hosts name, a pool to its members and to the workloads that name it as an outbound
// service (with the members' announced endpoints and the pool's objectives), nothing to others.
// And the references: an outbound service may be a Workload or an InferencePool.
import { describe, expect, it } from 'vitest';
import { decodeResource } from '../../control-plane/api/resource-codec.js';
import { buildSnapshot } from '../../control-plane/distribution/snapshot-builder.js';
import { loadFileSet } from '../../control-plane/resources/document-loader.js';
import { checkReferences } from '../../control-plane/resources/reference-check.js';
import type { Revision } from '../../control-plane/resources/revision.js';
import { resourceKey } from '../../control-plane/api/resource-types.js';

const MESH = `apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: web }
spec: { serviceAccount: web, ports: [{ port: 8080, protocol: http }], outbound: { services: [erp, llm] } }
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: erp }
spec: { serviceAccount: erp, ports: [{ port: 8080, protocol: http }], outbound: { services: [] } }
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: llm-a, labels: { pool: llm } }
spec: { serviceAccount: llm, ports: [{ port: 8000, protocol: http }], outbound: { services: [] } }
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: other }
spec: { serviceAccount: other, ports: [{ port: 8000, protocol: http }], outbound: { services: [erp] } }
---
apiVersion: weft.dev/v1alpha1
kind: LegacyBridge
metadata: { name: erp-soap }
spec: { hosts: [erp.default.svc], protocol: soap, soap: { wsdl: "Service?wsdl" } }
---
apiVersion: weft.dev/v1alpha1
kind: InferencePool
metadata: { name: llm }
spec: { selector: { matchLabels: { pool: llm } }, targetPorts: [8000], models: [m] }
---
apiVersion: weft.dev/v1alpha1
kind: InferenceObjective
metadata: { name: web-budget }
spec: { poolRef: llm, budgets: [{ window: 1m, tokens: 100 }] }
`;

function revision(text: string): Revision {
  const loaded = loadFileSet(new Map([['mesh.yaml', text]]));
  expect(loaded.problems).toEqual([]);
  expect(checkReferences(loaded.resources)).toEqual([]);
  return { number: 1, hash: 'h', createdAt: 0, resources: new Map(loaded.resources.map((r) => [resourceKey(r.resource), r])) };
}

const kinds = (documents: readonly string[]) =>
  documents
    .map((d) => decodeResource(JSON.parse(d) as unknown))
    .map((d) => (d.ok ? `${d.resource.kind}/${d.resource.metadata.name}` : 'invalid'))
    .sort();

describe('snapshots with LegacyBridge and InferencePool', () => {
  const mesh = revision(MESH);
  const endpoints = new Map([['default/llm-a', [{ host: '127.0.0.1', port: 17001 }]]]);

  it("gives the caller of a pool the pool, its objectives and its members with their endpoints", () => {
    const snapshot = buildSnapshot(mesh, 'web', 'default', endpoints);
    expect(kinds(snapshot.documents)).toEqual(['InferenceObjective/web-budget', 'InferencePool/llm', 'Workload/erp', 'Workload/llm-a', 'Workload/web']);
    const member = snapshot.documents.map((d) => JSON.parse(d) as { metadata: { name: string }; spec: { endpoints?: unknown } }).find((d) => d.metadata.name === 'llm-a');
    expect(member?.spec.endpoints).toEqual([{ host: '127.0.0.1', port: 17001 }]);
  });

  it('gives a pool member its pool (no objectives), and a bridge only to the workload its hosts name', () => {
    expect(kinds(buildSnapshot(mesh, 'llm-a', 'default', endpoints).documents)).toEqual(['InferencePool/llm', 'Workload/llm-a']);
    expect(kinds(buildSnapshot(mesh, 'erp', 'default', endpoints).documents)).toEqual(['LegacyBridge/erp-soap', 'Workload/erp']);
    expect(kinds(buildSnapshot(mesh, 'other', 'default', endpoints).documents)).toEqual(['Workload/erp', 'Workload/other']);
  });

  it('refuses an outbound service that is neither a Workload nor an InferencePool, naming both kinds', () => {
    const loaded = loadFileSet(new Map([['mesh.yaml', MESH.replace('services: [erp, llm]', 'services: [erp, nowhere]')]]));
    expect(checkReferences(loaded.resources).map((p) => [p.code, p.path, p.message])).toEqual([
      ['RESOURCE_REFERENCE_UNKNOWN', 'spec.outbound.services[1]', 'no Workload or InferencePool named "nowhere" in namespace default'],
    ]);
  });
});
