// The injector's own settings (flags of `weft injector` and `weft inject`) and the pod
// annotations it reads. Annotations come from whoever may create pods: they are parsed with the
// same checks as `weft iptables` flags, and a bad one refuses the pod with every problem named.
import { DEFAULT_CLUSTER_DOMAIN, isDnsName } from '../../../control-plane/api/service-hosts.js';
import { interceptionPlan, type InterceptionPlan } from '../interception/interception-plan.js';

export const ANNOTATIONS = Object.freeze({
  inject: 'weft.dev/inject',
  status: 'weft.dev/status',
  workload: 'weft.dev/workload',
  appPort: 'weft.dev/app-port',
  excludeInboundPorts: 'weft.dev/exclude-inbound-ports',
  excludeOutboundPorts: 'weft.dev/exclude-outbound-ports',
  excludeOutboundCidrs: 'weft.dev/exclude-outbound-cidrs',
});

/** The namespace label that opts every pod in (the webhook's namespaceSelector matches it). */
export const INJECT_LABEL = 'weft.dev/inject';

export interface InjectionSettings {
  readonly image: string;
  /** The control plane's gRPC address(es) as the sidecar's --control-plane takes them. */
  readonly controlPlane: string;
  readonly trustDomain: string;
  /** The cluster's DNS domain: sidecars also route `<name>.<ns>.svc.<clusterDomain>`. */
  readonly clusterDomain: string;
  /** ConfigMap in the pod's namespace holding the trust bundle as root-cert.pem. */
  readonly trustBundleConfigMap: string;
  readonly adminPort: number;
}

export const DEFAULT_SETTINGS: InjectionSettings = Object.freeze({
  image: 'weft:0.1.0',
  controlPlane: 'weft-control-plane.weft-system.svc:15010',
  trustDomain: 'cluster.local',
  clusterDomain: DEFAULT_CLUSTER_DOMAIN,
  trustBundleConfigMap: 'weft-ca-root-cert',
  adminPort: 15000,
});

export class InjectionRefused extends Error {}

/** The interception plan for one pod: defaults, the admin port, and the pod's exclusions. */
export function podInterceptionPlan(annotations: Readonly<Record<string, string>>, settings: InjectionSettings): InterceptionPlan {
  const inbound = [String(settings.adminPort), annotations[ANNOTATIONS.excludeInboundPorts] ?? ''].filter((item) => item !== '').join(',');
  try {
    return interceptionPlan({
      'exclude-inbound-ports': inbound,
      'exclude-outbound-ports': annotations[ANNOTATIONS.excludeOutboundPorts],
      'exclude-outbound-cidrs': annotations[ANNOTATIONS.excludeOutboundCidrs],
    });
  } catch (error) {
    throw new InjectionRefused(`weft.dev annotations: ${(error as Error).message}`);
  }
}

/** The flags that set InjectionSettings, shared by `weft injector serve` and `weft inject`. */
export const SETTINGS_OPTIONS = {
  image: { type: 'string', default: DEFAULT_SETTINGS.image },
  'control-plane': { type: 'string', default: DEFAULT_SETTINGS.controlPlane },
  'trust-domain': { type: 'string', default: DEFAULT_SETTINGS.trustDomain },
  'cluster-domain': { type: 'string', default: DEFAULT_SETTINGS.clusterDomain },
  'trust-bundle-config-map': { type: 'string', default: DEFAULT_SETTINGS.trustBundleConfigMap },
} as const;

export const SETTINGS_USAGE = `  --image IMAGE                 the weft image (default ${DEFAULT_SETTINGS.image})
  --control-plane HOST:PORT     what sidecars dial (default ${DEFAULT_SETTINGS.controlPlane})
  --trust-domain NAME           default ${DEFAULT_SETTINGS.trustDomain}
  --cluster-domain NAME         the cluster's DNS domain, passed to sidecars (default ${DEFAULT_SETTINGS.clusterDomain})
  --trust-bundle-config-map NAME
                                ConfigMap with root-cert.pem in each injected namespace
                                (default ${DEFAULT_SETTINGS.trustBundleConfigMap})`;

export function settingsFromFlags(values: { image: string; 'control-plane': string; 'trust-domain': string; 'cluster-domain': string; 'trust-bundle-config-map': string }): InjectionSettings {
  const problems: string[] = [];
  for (const [flag, value] of Object.entries(values)) if (value.trim() === '' || /\s/.test(value)) problems.push(`--${flag} must be one word, got ${JSON.stringify(value)}`);
  if (!isDnsName(values['cluster-domain'])) problems.push(`--cluster-domain must be a DNS name, got ${JSON.stringify(values['cluster-domain'])}`);
  if (problems.length > 0) throw Object.assign(new Error(problems.join('; ')), { exitCode: 2 });
  return Object.freeze({
    image: values.image,
    controlPlane: values['control-plane'],
    trustDomain: values['trust-domain'],
    clusterDomain: values['cluster-domain'],
    trustBundleConfigMap: values['trust-bundle-config-map'],
    adminPort: DEFAULT_SETTINGS.adminPort,
  });
}
