// End to end, a pod's sidecar as the injector starts it: `weft control-plane --token-review
// kubernetes:KUBECONFIG` and `weft proxy` processes that present projected service-account
// tokens get their first certificates for the service accounts the API server reviewed, announce
// their pod IP (here a loopback address of its own), and route the cluster's full service names.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeApiServer } from '../helpers/fake-kube-apiserver.js';
import { echoServer } from '../helpers/upstream.js';
import { runWeft } from '../helpers/weft-cli.js';
import { until } from './control-plane-fixture.js';
import { ALLOW_REGO, policyYaml } from './mesh-fixture.js';
import { spawnControlPlane } from './control-plane-process.js';
import { statusThroughMesh } from './fault-traffic-fixture.js';
import { spawnManagedSidecar } from './managed-sidecar-process.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("a pod's sidecar: bootstrap with a Kubernetes service-account token, pod IP, cluster names", () => {
  it('gives sidecars started with projected tokens the certificates of their service accounts; one announces its pod IP; callers use every service name', async () => {
    const api = await startFakeApiServer();
    cleanups.push(() => api.close());
    const dir = await mkdtemp(join(tmpdir(), 'weft-token-review-e2e-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'kubeconfig'), api.kubeconfig());
    const mesh = await mkdtemp(join(dir, 'mesh-'));
    const workload = (name: string, outbound: string) => `apiVersion: weft.dev/v1alpha1\nkind: Workload\nmetadata: { name: ${name} }\nspec:\n  serviceAccount: ${name}\n  ports: [{ port: 8080, protocol: http }]\n  outbound: { services: [${outbound}] }\n`;
    await writeFile(join(mesh, 'web.yaml'), `${workload('web', 'orders')}---\n${workload('orders', '')}`);
    await writeFile(join(mesh, 'authz.rego'), ALLOW_REGO);
    await writeFile(join(mesh, 'policy.yaml'), policyYaml());
    const cp = await spawnControlPlane(mesh, await mkdtemp(join(dir, 'state-')), { security: 'own-ca', args: ['--token-review', `kubernetes:${join(dir, 'kubeconfig')}`] });
    cleanups.push(() => cp.kill());
    const app = await echoServer();
    cleanups.push(() => app.close());

    const sidecar = (name: string, args: string[] = []) =>
      spawnManagedSidecar({ controlPlane: cp.grpc, workload: name, token: api.serviceAccountToken({ namespace: 'default', serviceAccount: name }), trustBundle: cp.trustBundle!, appPort: app.port, args }).catch((error: Error) => {
        throw new Error(`${error.message}\ncontrol plane:\n${cp.output()}`);
      });
    const orders = await sidecar('orders', ['--pod-ip', '127.0.0.3']);
    cleanups.push(() => orders.kill());
    const web = await sidecar('web');
    cleanups.push(() => web.kill());
    const issued = await until(() => cp.output().split('\n').map((line) => (line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : undefined)).find((entry) => entry?.event === 'certificate.issued'), 'the audit line of the certificate');
    expect(issued).toMatchObject({ credential: 'kubernetes-token', spiffeId: 'spiffe://weft.test/ns/default/sa/orders', tokenId: expect.stringMatching(/^JTI=/) });
    expect(api.requests).toContain('POST /apis/authentication.k8s.io/v1/tokenreviews');

    const status = (await (await fetch(`${cp.admin}/v1/status`, { headers: cp.adminHeaders.read })).json()) as { sidecars: { workload: string; inbound: string }[] };
    expect(status.sidecars.find((s) => s.workload === 'default/orders')?.inbound).toBe(`127.0.0.3:${orders.inboundPort}`);
    expect(status.sidecars.find((s) => s.workload === 'default/web')?.inbound).toBe(`127.0.0.1:${web.inboundPort}`);
    for (const host of ['orders', 'orders.default.svc', 'orders.default.svc.cluster.local', 'Orders.default.svc.cluster.local.:8080']) {
      await until(async () => (await statusThroughMesh(web.outboundPort, host, '/')) === 200, `web to reach orders as ${host}`).catch(async (error: Error) => {
        throw new Error(`${error.message} (last ${await statusThroughMesh(web.outboundPort, host, '/')})\nweb:\n${web.output()}\norders:\n${orders.output()}`);
      });
    }
    expect(await statusThroughMesh(web.outboundPort, 'orders.default.svc.other.local', '/')).not.toBe(200);
  }, 60_000);

  it('refuses to start with --token-review that is not kubernetes:[FILE], or with --plaintext', async () => {
    const bad = await runWeft(['control-plane', '--token-review', 'https://10.0.0.1', '--grpc-port', '0', '--admin-port', '0']);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('--token-review must be kubernetes:[KUBECONFIG]') });
    const plaintext = await runWeft(['control-plane', '--token-review', 'kubernetes:', '--plaintext', '--grpc-port', '0', '--admin-port', '0']);
    expect(plaintext).toMatchObject({ code: 2, stderr: expect.stringContaining('--token-review needs the CA') });
  });
});
