// The mutation itself: which pods get a sidecar, and the RFC 6902 patch that adds it. The patch
// is computed against the pod as the API server holds it, so the webhook returns it unchanged and
// `weft inject` applies it to a file (the same operations both ways). Pods are untrusted input:
// only the fields read here are looked at, each checked for its type.
import type { Operation } from 'fast-json-patch';
import { interceptionFlags } from '../interception/interception-plan.js';
import { ANNOTATIONS, InjectionRefused, podInterceptionPlan, type InjectionSettings } from './injection-settings.js';

export const SIDECAR_CONTAINER = 'weft-proxy';
export const INTERCEPTION_CONTAINER = 'weft-interception';
const VOLUMES = { token: 'weft-token', trust: 'weft-trust', state: 'weft-state' } as const;
const TOKEN_PATH = '/var/run/weft/token';
const TRUST_PATH = '/var/run/weft/trust';
const STATE_PATH = '/var/lib/weft';
/** Audience of the projected token: the CA accepts only tokens minted for it. */
export const TOKEN_AUDIENCE = 'weft-ca';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** How the pod reached the injector: its namespace is labelled, or only the pod may ask. */
export type OptIn = 'namespace' | 'pod';

/** The parts of a Pod (or a pod template) the injector reads. */
export interface PodLike {
  metadata?: { annotations?: Record<string, string>; labels?: Record<string, string>; name?: string; generateName?: string };
  spec?: {
    containers?: { name?: string; ports?: { containerPort?: number; protocol?: string }[] }[];
    initContainers?: { name?: string }[];
    volumes?: { name?: string }[];
    serviceAccountName?: string;
    hostNetwork?: boolean;
  };
}

export type InjectionOutcome = { readonly inject: false; readonly reason: string } | { readonly inject: true; readonly patch: Operation[] };

function stringRecord(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  const isMap = typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string');
  if (!isMap) throw new InjectionRefused('metadata annotations and labels must be maps of strings');
  return value as Record<string, string>;
}

function names(list: unknown): string[] {
  return Array.isArray(list) ? list.map((item) => (item as { name?: unknown }).name).filter((name): name is string => typeof name === 'string') : [];
}

function workloadName(pod: PodLike, annotations: Record<string, string>, serviceAccount: string): string {
  const labels = stringRecord(pod.metadata?.labels);
  const name = annotations[ANNOTATIONS.workload] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? serviceAccount;
  if (typeof name !== 'string' || !DNS_LABEL.test(name)) throw new InjectionRefused(`workload name ${JSON.stringify(name)} is not a DNS label (set ${ANNOTATIONS.workload})`);
  return name;
}

function appPort(pod: PodLike, annotations: Record<string, string>): number | undefined {
  const annotated = annotations[ANNOTATIONS.appPort];
  if (annotated !== undefined) {
    const port = /^\d{1,5}$/.test(annotated) ? Number(annotated) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new InjectionRefused(`${ANNOTATIONS.appPort}: ${JSON.stringify(annotated)} is not a port from 1 to 65535`);
    return port;
  }
  const ports = pod.spec?.containers?.[0]?.ports;
  const tcp = Array.isArray(ports) ? ports.find((port) => (port.protocol ?? 'TCP') === 'TCP' && Number.isInteger(port.containerPort)) : undefined;
  return tcp?.containerPort;
}

/** Whether the pod is to be injected, and why not when it is not. */
function decision(pod: PodLike, optIn: OptIn, annotations: Record<string, string>): string | undefined {
  const asked = annotations[ANNOTATIONS.inject];
  if (asked === 'false') return `annotation ${ANNOTATIONS.inject}: "false"`;
  if (optIn === 'pod' && asked !== 'true') return `neither the namespace label nor the annotation ${ANNOTATIONS.inject}: "true"`;
  // The interception rules would rewrite the node's own network.
  if (pod.spec?.hostNetwork === true) return 'pod uses the host network';
  if (annotations[ANNOTATIONS.status] === 'injected' || names(pod.spec?.initContainers).includes(SIDECAR_CONTAINER)) return 'already injected';
  return undefined;
}

function containers(pod: PodLike, annotations: Record<string, string>, settings: InjectionSettings): unknown[] {
  const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
  const plan = podInterceptionPlan(annotations, settings);
  const port = appPort(pod, annotations);
  const dropAll = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true };
  const interception = {
    name: INTERCEPTION_CONTAINER,
    image: settings.image,
    args: ['iptables', ...interceptionFlags(plan)],
    // Root with NET_ADMIN only for the rules, then it exits; the app never runs with it.
    securityContext: { ...dropAll, runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] } },
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
  };
  const sidecar = {
    name: SIDECAR_CONTAINER,
    image: settings.image,
    // A native sidecar: started before the app containers, kept running, and not waited for
    // by a Job's completion.
    restartPolicy: 'Always',
    args: [
      'proxy',
      '--control-plane', settings.controlPlane,
      '--workload', workloadName(pod, annotations, serviceAccount),
      '--namespace', '$(WEFT_POD_NAMESPACE)',
      '--pod-ip', '$(WEFT_POD_IP)',
      '--service-account', serviceAccount,
      '--trust-domain', settings.trustDomain,
      '--cluster-domain', settings.clusterDomain,
      '--trust-bundle', `${TRUST_PATH}/root-cert.pem`,
      '--token-file', `${TOKEN_PATH}/${TOKEN_AUDIENCE}-token`,
      '--inbound-port', String(plan.inboundPort),
      '--outbound-port', String(plan.outboundPort),
      '--admin-port', String(settings.adminPort),
      '--state-dir', STATE_PATH,
      ...(port === undefined ? [] : ['--app-port', String(port)]),
    ],
    env: [
      { name: 'WEFT_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'WEFT_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ],
    ports: [{ name: 'weft-mesh', containerPort: plan.inboundPort, protocol: 'TCP' }],
    // The app containers start only once this passes: the sidecar has its certificate and config.
    startupProbe: {
      exec: { command: ['node', '-e', `fetch('http://127.0.0.1:${settings.adminPort}/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`] },
      periodSeconds: 1,
      failureThreshold: 120,
    },
    securityContext: { ...dropAll, runAsUser: plan.proxyUid, runAsGroup: plan.proxyUid, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '512Mi' } },
    volumeMounts: [
      { name: VOLUMES.token, mountPath: TOKEN_PATH, readOnly: true },
      { name: VOLUMES.trust, mountPath: TRUST_PATH, readOnly: true },
      { name: VOLUMES.state, mountPath: STATE_PATH },
    ],
  };
  return [interception, sidecar];
}

function volumes(settings: InjectionSettings): unknown[] {
  return [
    {
      name: VOLUMES.token,
      projected: { sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: 3600, path: `${TOKEN_AUDIENCE}-token` } }] },
    },
    { name: VOLUMES.trust, configMap: { name: settings.trustBundleConfigMap } },
    { name: VOLUMES.state, emptyDir: {} },
  ];
}

/**
 * What to do with one pod. `prefix` is the JSON pointer of the pod template ('' for a Pod,
 * '/spec/template' for a Deployment). Throws InjectionRefused for a pod asking for injection
 * with settings that cannot be honoured.
 */
export function podInjection(pod: PodLike, optIn: OptIn, settings: InjectionSettings, prefix = ''): InjectionOutcome {
  if (typeof pod.spec !== 'object' || pod.spec === null) throw new InjectionRefused('the pod has no spec');
  const annotations = stringRecord(pod.metadata?.annotations);
  const reason = decision(pod, optIn, annotations);
  if (reason !== undefined) return { inject: false, reason };
  const taken = [...names(pod.spec?.containers), ...names(pod.spec?.initContainers)];
  const added = containers(pod, annotations, settings);
  const newVolumes = volumes(settings);
  for (const name of names(added)) if (taken.includes(name)) throw new InjectionRefused(`the pod already has a container named ${name}`);
  for (const name of names(newVolumes)) if (names(pod.spec?.volumes).includes(name)) throw new InjectionRefused(`the pod already has a volume named ${name}`);

  const patch: Operation[] = [];
  // A missing or null list is added whole; `add` on a null member replaces it.
  if (!Array.isArray(pod.spec.initContainers)) patch.push({ op: 'add', path: `${prefix}/spec/initContainers`, value: added });
  // Before the pod's own init containers, so that they too run with the mesh.
  else added.forEach((container, index) => patch.push({ op: 'add', path: `${prefix}/spec/initContainers/${index}`, value: container }));
  if (!Array.isArray(pod.spec.volumes)) patch.push({ op: 'add', path: `${prefix}/spec/volumes`, value: newVolumes });
  else for (const volume of newVolumes) patch.push({ op: 'add', path: `${prefix}/spec/volumes/-`, value: volume });
  if (pod.metadata?.annotations == null) {
    if (pod.metadata == null) patch.push({ op: 'add', path: `${prefix}/metadata`, value: {} });
    patch.push({ op: 'add', path: `${prefix}/metadata/annotations`, value: { [ANNOTATIONS.status]: 'injected' } });
  } else patch.push({ op: 'add', path: `${prefix}/metadata/annotations/${ANNOTATIONS.status.replace('/', '~1')}`, value: 'injected' });
  return { inject: true, patch };
}
