// The names a caller may use for a service, as Kubernetes DNS gives them: `orders`,
// `orders.shop`, `orders.shop.svc` and `orders.shop.svc.<cluster domain>`. Sidecars route by them
// (a cluster's hosts), and the control plane knows a workload by them (a LegacyBridge's hosts).
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export function serviceHosts(name: string, namespace: string, clusterDomain: string = DEFAULT_CLUSTER_DOMAIN): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${clusterDomain}`];
}
