// A mesh on loopback for tests: a real CA and in-process sidecars that get their certificates
// from it, with the mesh TransportSecurity.
import { validateConfig } from '../../proxy/config/load-config.js';
import type { SidecarConfig } from '../../proxy/config/types.js';
import { MeshTransportSecurity } from '../../proxy/tls/mesh-security.js';
import type { WorkloadIdentityOptions } from '../../proxy/tls/workload-identity.js';
import { startWorkloadIdentity, type TestCaServer } from './ca-server.js';
import { startInProcess, testConfig, type InProcessSidecar } from './sidecar.js';

export interface MeshSidecar extends InProcessSidecar {
  readonly security: MeshTransportSecurity;
  readonly config: SidecarConfig;
}

/** A sidecar whose config has an identity section pointing at `ca` (the file paths unused). */
export async function startMeshSidecar(
  ca: TestCaServer,
  overrides: Record<string, unknown>,
  identityOptions: Partial<WorkloadIdentityOptions> = {},
): Promise<MeshSidecar> {
  const config = validateConfig(
    testConfig({
      accessLog: { mode: 'off' },
      identity: { trustDomain: 'test.local', ca: { address: ca.endpoint.address, trustBundleFile: '-' } },
      ...overrides,
    }),
  );
  const spiffeId = `spiffe://test.local/ns/${config.namespace}/sa/${config.identity?.serviceAccount ?? config.workload}`;
  const identity = await startWorkloadIdentity(ca, spiffeId, identityOptions);
  const security = new MeshTransportSecurity(identity);
  const sidecar = await startInProcess(config, { security, identity }, () => identity.stop());
  return { ...sidecar, security, config };
}
