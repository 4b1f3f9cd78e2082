// The one translation from a control-plane snapshot to the sidecar's runtime config, and the
// `weft proxy --control-plane` flags that use it.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../proxy/config/load-config.js';
import { sidecarConfigFromSnapshot, type LocalSidecarSettings } from '../../../proxy/xds/sidecar-config-from-snapshot.js';
import { decodeSnapshot } from '../../../proxy/xds/snapshot.js';
import { runWeft } from '../../helpers/weft-cli.js';

const local: LocalSidecarSettings = {
  workload: 'web',
  namespace: 'shop',
  identity: { trustDomain: 'weft.test', ca: { address: '127.0.0.1:15010', trustBundleFile: 'root.pem' }, certificateTtlSeconds: 0 },
  inbound: { address: '127.0.0.1', port: 15006 },
  outbound: { address: '127.0.0.1', port: 15001 },
  admin: { address: '127.0.0.1', port: 15000 },
};

const doc = (kind: string, name: string, spec: object) => JSON.stringify({ apiVersion: 'weft.dev/v1alpha1', kind, metadata: { name, namespace: 'shop' }, spec });
const web = doc('Workload', 'web', { serviceAccount: 'web', ports: [{ port: 8080, protocol: 'http' }] });
const orders = doc('Workload', 'orders', { serviceAccount: 'orders-sa', ports: [{ port: 8080, protocol: 'http' }], endpoints: [{ host: '127.0.0.1', port: 16006 }] });
const inventory = doc('Workload', 'inventory', { serviceAccount: 'inventory', ports: [{ port: 9090, protocol: 'grpc' }] });
const models = JSON.stringify({
  apiVersion: 'weft.dev/v1alpha1',
  kind: 'Workload',
  metadata: { name: 'models', namespace: 'shop', labels: { tier: 'gpu' } },
  spec: {
    serviceAccount: 'models',
    ports: [{ port: 8000, protocol: 'http' }],
    endpoints: [{ host: '10.0.0.7', port: 16006, weight: 3, labels: { zone: 'a' }, models: ['llama-3'], metricsUrl: 'http://10.0.0.7:9400/metrics' }],
  },
});
const modelsRoute = doc('Route', 'models', {
  service: 'models',
  loadBalancer: { policy: 'LEAST_REQUEST', choiceCount: 3 },
  circuitBreaker: { maxConnections: 8, maxPendingRequests: 4, maxRetries: 1 },
});
const route = doc('Route', 'orders', {
  service: 'orders',
  timeout: '2s',
  retries: { attempts: 2, perTryTimeout: '500ms', retryOn: ['5xx', 'reset'], budget: { percent: 25, minRetriesPerSecond: 5 } },
  loadBalancer: { policy: 'ROUND_ROBIN' },
  circuitBreaker: { maxRequests: 50 },
  outlierDetection: { consecutive5xx: 3, interval: '1s', baseEjectionTime: '10s', maxEjectionPercent: 30 },
});

function snapshot(...documents: string[]) {
  return decodeSnapshot({ versionInfo: 'v1', revision: 1, documents }, { workload: 'web', namespace: 'shop' });
}

describe('sidecarConfigFromSnapshot', () => {
  it('routes each callable service to its endpoints over mTLS to its SPIFFE ID, with its Route', () => {
    const config = sidecarConfigFromSnapshot(snapshot(web, orders, inventory, route), local);
    expect(config.inbound).toMatchObject({ port: 15006, appPort: 8080, appProtocol: 'http1', mtls: 'STRICT' });
    expect(config.identity?.ca.address).toBe('127.0.0.1:15010');
    const byName = Object.fromEntries(config.outbound!.clusters.map((c) => [c.name, c]));
    expect(byName.orders).toMatchObject({
      hosts: ['orders', 'orders.shop', 'orders.shop.svc', 'orders.shop.svc.cluster.local'],
      endpoints: [{ address: '127.0.0.1', port: 16006 }],
      spiffeId: 'spiffe://weft.test/ns/shop/sa/orders-sa',
      timeoutMs: 2000,
      loadBalancer: 'round_robin',
      maxRequests: 50,
      retries: { attempts: 2, perTryTimeoutMs: 500, retryOn: ['5xx', 'reset'], retryNonIdempotent: false, budget: { percent: 25, minRetryConcurrency: 5 } },
      outlierDetection: { consecutive5xx: 3, consecutiveConnectFailures: 5, intervalMs: 1000, baseEjectionTimeMs: 10000, maxEjectionPercent: 30 },
    });
    // A service whose sidecar has not announced itself yet: routed, but no endpoint (503 UH).
    expect(byName.inventory).toMatchObject({ protocol: 'grpc', endpoints: [], spiffeId: 'spiffe://weft.test/ns/shop/sa/inventory', timeoutMs: 15000 });
    expect(byName.inventory?.retries).toBeUndefined();
    expect(byName.inventory?.outlierDetection).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names each service in the cluster domain it is given', () => {
    const config = sidecarConfigFromSnapshot(snapshot(web, orders), { ...local, clusterDomain: 'corp.internal' });
    expect(config.outbound!.clusters[0]!.hosts).toEqual(['orders', 'orders.shop', 'orders.shop.svc', 'orders.shop.svc.corp.internal']);
  });

  it("carries endpoint metadata (the Workload's labels under the endpoint's own), the balancer's config and the circuit breaker", () => {
    const config = sidecarConfigFromSnapshot(snapshot(web, models, modelsRoute), local);
    expect(config.outbound!.clusters[0]).toMatchObject({
      name: 'models',
      endpoints: [{ address: '10.0.0.7', port: 16006, weight: 3, labels: { tier: 'gpu', zone: 'a' }, models: ['llama-3'], metricsUrl: 'http://10.0.0.7:9400/metrics' }],
      loadBalancer: 'least_request',
      loadBalancerConfig: { choiceCount: 3 },
      maxConnections: 8,
      maxPendingRequests: 4,
      maxRetries: 1,
    });
  });

  it('takes the app port from the local settings over the Workload, and the mTLS mode from PeerAuthentication', () => {
    const wide = doc('PeerAuthentication', 'all', { mode: 'PERMISSIVE' });
    const own = doc('PeerAuthentication', 'web', { workload: 'web', mode: 'STRICT', ports: { '7000': { mode: 'DISABLE' } } });
    expect(sidecarConfigFromSnapshot(snapshot(web, wide), { ...local, appPort: 7000 }).inbound).toMatchObject({ appPort: 7000, mtls: 'PERMISSIVE' });
    expect(sidecarConfigFromSnapshot(snapshot(web, wide, own), { ...local, appPort: 7000 }).inbound?.mtls).toBe('DISABLE');
    expect(sidecarConfigFromSnapshot(snapshot(web, wide, own), local).inbound?.mtls).toBe('STRICT');
  });

  it("takes path normalization from the Workload (absent: MERGE_SLASHES), and refuses a mode it does not know", () => {
    expect(sidecarConfigFromSnapshot(snapshot(web), local).pathNormalization).toEqual({ normalization: 'MERGE_SLASHES', forwardOriginalPath: false });
    const strictPaths = doc('Workload', 'web', {
      serviceAccount: 'web',
      ports: [{ port: 8080, protocol: 'http' }],
      pathNormalization: { normalization: 'DECODE_AND_MERGE_SLASHES', escapedSlashesAction: 'REJECT_REQUEST', forwardOriginalPath: true },
    });
    expect(sidecarConfigFromSnapshot(snapshot(strictPaths), local).pathNormalization).toEqual({
      normalization: 'DECODE_AND_MERGE_SLASHES',
      escapedSlashesAction: 'REJECT_REQUEST',
      forwardOriginalPath: true,
    });
    const unknown = doc('Workload', 'web', { serviceAccount: 'web', ports: [{ port: 8080, protocol: 'http' }], pathNormalization: { normalization: 'SOME' } });
    expect(() => snapshot(unknown)).toThrow(/pathNormalization/);
  });

  it('refuses a snapshot without this sidecar\'s Workload, and one it cannot run', () => {
    expect(() => sidecarConfigFromSnapshot(snapshot(orders), local)).toThrow(ConfigError);
    expect(() => sidecarConfigFromSnapshot(snapshot(orders), local)).toThrow('the control plane has no Workload shop/web');
    const clash = { ...local, outbound: { address: '127.0.0.1', port: 15006 } };
    expect(() => sidecarConfigFromSnapshot(snapshot(web), clash)).toThrow('outbound.port: port 15006 is also inbound.port');
  });
});

describe('weft proxy --control-plane flags', () => {
  it('needs exactly one of --config and --control-plane, and a workload', async () => {
    const both = await runWeft(['proxy', '--config', 'a.yaml', '--control-plane', '127.0.0.1:1']);
    const noWorkload = await runWeft(['proxy', '--control-plane', '127.0.0.1:1']);
    const zero = await runWeft(['proxy', '--control-plane', '127.0.0.1:1', '--workload', 'web', '--inbound-port', '0']);
    for (const result of [both, noWorkload, zero]) {
      expect(result.code).toBe(2);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(both.stderr).toContain('give either --config FILE or --control-plane HOST:PORT');
    expect(noWorkload.stderr).toContain('--workload NAME is required with --control-plane');
    expect(zero.stderr).toContain('--inbound-port must be a port number from 1');
  });

  it('refuses a --pod-ip that is no IP address and a --cluster-domain that is no DNS name', async () => {
    const podIp = await runWeft(['proxy', '--control-plane', '127.0.0.1:1', '--workload', 'web', '--pod-ip', '$(WEFT_POD_IP)']);
    const domain = await runWeft(['proxy', '--control-plane', '127.0.0.1:1', '--workload', 'web', '--cluster-domain', 'cluster..local']);
    expect(podIp).toMatchObject({ code: 2, stderr: expect.stringContaining('--pod-ip must be an IP address, not "$(WEFT_POD_IP)"') });
    expect(domain).toMatchObject({ code: 2, stderr: expect.stringContaining('--cluster-domain must be a DNS name') });
  });
});
