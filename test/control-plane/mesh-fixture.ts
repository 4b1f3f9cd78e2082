// A small mesh as YAML files, shared by the control-plane tests.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const WORKLOADS_YAML = `apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: web, labels: { tier: front } }
spec:
  serviceAccount: web
  ports: [{ port: 8080, protocol: http }]
  outbound: { services: [orders] }
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: orders, labels: { tier: back } }
spec:
  serviceAccount: orders
  ports: [{ port: 9090, protocol: http }]
  outbound: { services: [] }
`;

export const ASSETS_YAML = `apiVersion: weft.dev/v1alpha1
kind: Asset
metadata: { name: orders-admin, labels: { classification: pii } }
spec:
  workload: orders
  match:
    paths: [{ prefix: /orders/admin }]
    methods: [GET, POST]
`;

export function policyYaml(rego = 'authz.rego', mode = 'enforce'): string {
  return `apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: orders-authz }
spec:
  modules: [{ file: ${rego} }]
  targets: { workloads: [orders] }
  mode: ${mode}
`;
}

export const ALLOW_REGO = `package weft.authz

default allow := false

allow if input.attributes.request.http.method == "GET"
`;

export const ROUTE_YAML = `apiVersion: weft.dev/v1alpha1
kind: Route
metadata: { name: orders }
spec:
  service: orders
  timeout: 2s
  retries: { attempts: 2, perTryTimeout: 500ms }
  loadBalancer: { policy: LEAST_REQUEST }
`;

export const MESH_FILES: Record<string, string> = {
  'workloads.yaml': WORKLOADS_YAML,
  'assets.yaml': ASSETS_YAML,
  'policies/orders.yaml': policyYaml(),
  'policies/authz.rego': ALLOW_REGO,
  'routes.yaml': ROUTE_YAML,
};

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

export async function meshDirectory(files: Record<string, string> = MESH_FILES): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-mesh-'));
  await writeFiles(dir, files);
  return dir;
}

