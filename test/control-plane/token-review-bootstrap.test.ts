// End to end: `weft control-plane --token-review kubernetes:KUBECONFIG` and a `weft proxy` that
// presents a projected service-account token (as the injector mounts it) get the sidecar its
// first certificate, for the service account the API server reviewed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeApiServer } from '../helpers/fake-kube-apiserver.js';
import { echoServer } from '../helpers/upstream.js';
import { runWeft } from '../helpers/weft-cli.js';
import { until } from './control-plane-fixture.js';
import { spawnControlPlane } from './control-plane-process.js';
import { spawnManagedSidecar } from './managed-sidecar-process.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('bootstrap with a Kubernetes service-account token', () => {
  it('gives a sidecar started with its projected token the certificate of its service account', async () => {
    const api = await startFakeApiServer();
    cleanups.push(() => api.close());
    const dir = await mkdtemp(join(tmpdir(), 'weft-token-review-e2e-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'kubeconfig'), api.kubeconfig());
    const mesh = await mkdtemp(join(dir, 'mesh-'));
    await writeFile(join(mesh, 'web.yaml'), 'apiVersion: weft.dev/v1alpha1\nkind: Workload\nmetadata: { name: web }\nspec:\n  serviceAccount: web\n  ports: [{ port: 8080, protocol: http }]\n');
    const cp = await spawnControlPlane(mesh, await mkdtemp(join(dir, 'state-')), { tls: true, args: ['--token-review', `kubernetes:${join(dir, 'kubeconfig')}`] });
    cleanups.push(() => cp.kill());
    const app = await echoServer();
    cleanups.push(() => app.close());

    const sidecar = await spawnManagedSidecar({ controlPlane: cp.grpc, workload: 'web', token: api.serviceAccountToken({ namespace: 'default', serviceAccount: 'web' }), trustBundle: cp.trustBundle!, appPort: app.port }).catch((error: Error) => {
      throw new Error(`${error.message}\ncontrol plane:\n${cp.output()}`);
    });
    cleanups.push(() => sidecar.kill());
    const issued = await until(() => cp.output().split('\n').map((line) => (line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : undefined)).find((entry) => entry?.event === 'certificate.issued'), 'the audit line of the certificate');
    expect(issued).toMatchObject({ credential: 'kubernetes-token', spiffeId: 'spiffe://weft.test/ns/default/sa/web', tokenId: expect.stringMatching(/^JTI=/) });
    expect(api.requests).toContain('POST /apis/authentication.k8s.io/v1/tokenreviews');
  }, 60_000);

  it('refuses to start with --token-review that is not kubernetes:[FILE], or with --plaintext', async () => {
    const bad = await runWeft(['control-plane', '--token-review', 'https://10.0.0.1', '--grpc-port', '0', '--admin-port', '0']);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('--token-review must be kubernetes:[KUBECONFIG]') });
    const plaintext = await runWeft(['control-plane', '--token-review', 'kubernetes:', '--plaintext', '--grpc-port', '0', '--admin-port', '0']);
    expect(plaintext).toMatchObject({ code: 2, stderr: expect.stringContaining('--token-review needs the CA') });
  });
});
