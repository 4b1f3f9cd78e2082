// Checks on a set of Kubernetes objects that a cluster would otherwise only reveal at apply time
// or later: kinds and API versions, required fields, and references by name between objects.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { TOKEN_REVIEW_RULE } from '../../../control-plane/ca/kubernetes-token-review.js';
import { WEBHOOK_PATHS } from '../../../deploy/kubernetes/injection/injector-server.js';

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [field: string]: unknown };
type Labels = Record<string, string>;
type Container = { name: string; image?: string; args?: string[]; ports?: { name?: string; containerPort: number }[]; env?: { valueFrom?: { secretKeyRef?: { name: string } } }[] };
type PodSpec = { serviceAccountName?: string; automountServiceAccountToken?: boolean; containers: Container[]; volumes?: { secret?: { secretName: string }; configMap?: { name: string } }[] };
type Webhook = { name: string; clientConfig: { service: { name: string; path: string; port: number } }; failurePolicy?: string; sideEffects?: string; admissionReviewVersions?: string[] };
type Workload = { selector: { matchLabels: Labels }; template: { metadata: { labels: Labels }; spec: PodSpec }; serviceName?: string; replicas?: number };

export const apiVersions: Record<string, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  CustomResourceDefinition: 'apiextensions.k8s.io/v1',
  MutatingWebhookConfiguration: 'admissionregistration.k8s.io/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
};

/** Kinds without a namespace. */
export const clusterScoped = ['Namespace', 'CustomResourceDefinition', 'MutatingWebhookConfiguration', 'ClusterRole', 'ClusterRoleBinding'];

type Rule = { apiGroups?: string[]; resources?: string[]; verbs?: string[] };
const ruleText = (rule: Rule) => `${(rule.verbs ?? []).join(',')} ${(rule.resources ?? []).join(',')}.${(rule.apiGroups ?? []).join(',')}`;

/** The Kubernetes API calls each service account's code makes, as RBAC rules: exactly what it must be granted. */
export const apiCallsByServiceAccount: Record<string, readonly Rule[]> = {
  'weft-control-plane': [{ apiGroups: [...TOKEN_REVIEW_RULE.apiGroups], resources: [...TOKEN_REVIEW_RULE.resources], verbs: [...TOKEN_REVIEW_RULE.verbs] }],
};

/** Secrets the user creates (deploy/README.md says how); manifests reference them, never hold them. */
export const userSecrets = ['weft-ca-encryption-key', 'weft-injector-tls'];

export function parseObjects(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as KubeObject | null;
    return value ? [value] : [];
  });
}

/** The objects a kustomization lists, following directories to their own kustomization. */
export function loadKustomization(directory: string): KubeObject[] {
  const kustomization = parseObjects(readFileSync(join(directory, 'kustomization.yaml'), 'utf8'), directory)[0] as unknown as { resources: string[] };
  return kustomization.resources.flatMap((resource) => {
    const path = join(directory, resource);
    return resource.endsWith('.yaml') ? parseObjects(readFileSync(path, 'utf8'), path) : loadKustomization(path);
  });
}

const matches = (selector: Labels, labels: Labels): boolean => Object.entries(selector).every(([key, value]) => labels[key] === value);

function workloads(objects: readonly KubeObject[]): { object: KubeObject; spec: Workload }[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet').map((object) => ({ object, spec: object.spec as Workload }));
}

/** Every problem found, as `Kind/name: what`; empty when the set is consistent. */
export function manifestProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const names = (kind: string) => new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
  const serviceAccounts = names('ServiceAccount');
  const secrets = new Set([...names('Secret'), ...userSecrets]);
  const configMaps = names('ConfigMap');
  const pods = workloads(objects);
  const seen = new Set<string>();
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata?.name}`;
    if (!object.metadata?.name) problems.push(`${id}: no metadata.name`);
    if (seen.has(id)) problems.push(`${id}: defined twice`);
    seen.add(id);
    const expected = apiVersions[object.kind];
    if (!expected) problems.push(`${id}: kind not expected in weft's manifests`);
    else if (object.apiVersion !== expected) problems.push(`${id}: apiVersion ${object.apiVersion}, expected ${expected}`);
    if (object.kind === 'Secret' && (object.data || object.stringData)) problems.push(`${id}: a Secret with values is committed`);
  }
  problems.push(...rbacProblems(objects, serviceAccounts));
  for (const sa of objects.filter((o) => o.kind === 'ServiceAccount')) {
    if (sa.automountServiceAccountToken !== false) problems.push(`ServiceAccount/${sa.metadata.name}: mounts an API token nothing uses`);
  }
  for (const { object, spec } of pods) {
    const id = `${object.kind}/${object.metadata.name}`;
    if (!spec.selector?.matchLabels || !matches(spec.selector.matchLabels, spec.template?.metadata?.labels ?? {})) problems.push(`${id}: selector does not match its pod labels`);
    const pod = spec.template.spec;
    if (pod.serviceAccountName && !serviceAccounts.has(pod.serviceAccountName)) problems.push(`${id}: ServiceAccount ${pod.serviceAccountName} does not exist`);
    if (pod.containers.length === 0) problems.push(`${id}: no containers`);
    if (pod.automountServiceAccountToken === true && apiCallsByServiceAccount[pod.serviceAccountName ?? ''] === undefined) problems.push(`${id}: mounts an API token its code does not use`);
    for (const container of pod.containers) {
      if (!container.name || !container.image) problems.push(`${id}: a container without name or image`);
      for (const env of container.env ?? []) {
        const secret = env.valueFrom?.secretKeyRef?.name;
        if (secret && !secrets.has(secret)) problems.push(`${id}: Secret ${secret} is neither defined nor documented`);
      }
    }
    for (const volume of pod.volumes ?? []) {
      if (volume.secret && !secrets.has(volume.secret.secretName)) problems.push(`${id}: Secret ${volume.secret.secretName} is neither defined nor documented`);
      if (volume.configMap && !configMaps.has(volume.configMap.name)) problems.push(`${id}: ConfigMap ${volume.configMap.name} does not exist`);
    }
    if (object.kind === 'StatefulSet' && !names('Service').has(spec.serviceName ?? '')) problems.push(`${id}: serviceName ${spec.serviceName} is no Service`);
  }
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    const spec = service.spec as { selector: Labels; ports: { name: string; targetPort: string | number }[] };
    const targets = pods.filter(({ spec: w }) => matches(spec.selector, w.template.metadata.labels));
    if (targets.length === 0) problems.push(`Service/${service.metadata.name}: selects no pods`);
    for (const port of spec.ports) {
      const named = targets.some(({ spec: w }) => w.template.spec.containers.some((c) => c.ports?.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort)));
      if (!named) problems.push(`Service/${service.metadata.name}: targetPort ${port.targetPort} is no container port of its pods`);
    }
  }
  for (const configuration of objects.filter((o) => o.kind === 'MutatingWebhookConfiguration')) {
    for (const webhook of configuration.webhooks as Webhook[]) {
      const id = `MutatingWebhookConfiguration/${configuration.metadata.name} ${webhook.name}`;
      const { service } = webhook.clientConfig;
      const target = objects.find((o) => o.kind === 'Service' && o.metadata.name === service.name);
      if (target === undefined) problems.push(`${id}: Service ${service.name} does not exist`);
      else if (!(target.spec as { ports: { port: number }[] }).ports.some((p) => p.port === service.port)) problems.push(`${id}: Service ${service.name} has no port ${service.port}`);
      if (!Object.hasOwn(WEBHOOK_PATHS, service.path)) problems.push(`${id}: the injector serves no ${service.path}`);
      if (!['Fail', 'Ignore'].includes(webhook.failurePolicy ?? '')) problems.push(`${id}: failurePolicy must be stated`);
      if (webhook.sideEffects !== 'None' || !webhook.admissionReviewVersions?.includes('v1')) problems.push(`${id}: must declare sideEffects None and admissionReviewVersions v1`);
    }
  }
  for (const selecting of objects.filter((o) => o.kind === 'PodDisruptionBudget' || o.kind === 'NetworkPolicy')) {
    const spec = selecting.spec as { selector?: { matchLabels: Labels }; podSelector?: { matchLabels: Labels } };
    const selector = (spec.selector ?? spec.podSelector)!.matchLabels;
    if (!pods.some(({ spec: w }) => matches(selector, w.template.metadata.labels))) problems.push(`${selecting.kind}/${selecting.metadata.name}: selects no pods`);
  }
  return problems;
}

/** Each service account is granted exactly the calls its code makes (apiCallsByServiceAccount): no more, no less. */
function rbacProblems(objects: readonly KubeObject[], serviceAccounts: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const roles = new Map(objects.filter((o) => o.kind === 'ClusterRole').map((o) => [o.metadata.name, (o.rules as Rule[] | undefined) ?? []]));
  const granted = new Map<string, string[]>();
  for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding')) {
    const id = `ClusterRoleBinding/${binding.metadata.name}`;
    const roleRef = binding.roleRef as { kind?: string; name?: string };
    const rules = roles.get(roleRef.name ?? '');
    if (roleRef.kind !== 'ClusterRole' || rules === undefined) problems.push(`${id}: ClusterRole ${roleRef.name} does not exist`);
    for (const subject of (binding.subjects as { kind?: string; name?: string; namespace?: string }[] | undefined) ?? []) {
      if (subject.kind !== 'ServiceAccount' || !serviceAccounts.has(subject.name ?? '') || subject.namespace !== 'weft-system') problems.push(`${id}: subject ${subject.kind} ${subject.namespace}/${subject.name} is no weft ServiceAccount`);
      else granted.set(subject.name!, [...(granted.get(subject.name!) ?? []), ...(rules ?? []).map(ruleText)]);
    }
  }
  for (const kind of ['Role', 'RoleBinding']) for (const o of objects.filter((object) => object.kind === kind)) problems.push(`${kind}/${o.metadata.name}: weft's grants are ClusterRoles (TokenReview is cluster-scoped)`);
  for (const account of new Set([...granted.keys(), ...Object.keys(apiCallsByServiceAccount)])) {
    const has = [...new Set(granted.get(account) ?? [])].sort();
    const needs = (apiCallsByServiceAccount[account] ?? []).map(ruleText).sort();
    if (JSON.stringify(has) !== JSON.stringify(needs)) problems.push(`ServiceAccount/${account}: granted [${has.join('; ')}], its code calls [${needs.join('; ')}]`);
  }
  return problems;
}

export function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`${kind}/${name} not found`);
  return object;
}

export const kubernetesDirectory = join(dirname(new URL(import.meta.url).pathname), '../../../deploy/kubernetes');
