// The names a caller may use for a service, as Kubernetes DNS gives them: `orders`,
// `orders.shop`, `orders.shop.svc` and `orders.shop.svc.<cluster domain>`. Sidecars route by them
// (a cluster's hosts), and the control plane knows a workload by them (a LegacyBridge's hosts).
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** A lower-case DNS name (RFC 1123 labels), as a cluster domain must be. */
export function isDnsName(name: string): boolean {
  return /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/.test(name);
}

export function serviceHosts(name: string, namespace: string, clusterDomain: string = DEFAULT_CLUSTER_DOMAIN): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${clusterDomain}`];
}
