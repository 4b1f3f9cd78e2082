// A mesh on loopback for tests: a real CA and in-process sidecars that get their certificates
// from it, with the mesh TransportSecurity.
import { PassThrough } from 'node:stream';
import { validateConfig } from '../../proxy/config/load-config.js';
import type { SidecarConfig } from '../../proxy/config/types.js';
import { Sidecar } from '../../proxy/sidecar.js';
import { MeshTransportSecurity } from '../../proxy/tls/mesh-security.js';
import type { WorkloadIdentityOptions } from '../../proxy/tls/workload-identity.js';
import { startWorkloadIdentity, type TestCaServer } from './ca-server.js';
import { testConfig, type InProcessSidecar } from './sidecar.js';

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
  const security = new MeshTransportSecurity(identity, config);
  const log = new PassThrough();
  let text = '';
  log.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const sidecar = await Sidecar.start(config, { security, identity, accessLogOut: log });
  return {
    sidecar,
    security,
    config,
    inboundPort: sidecar.addresses.inbound?.port ?? 0,
    outboundPort: sidecar.addresses.outbound?.port ?? 0,
    adminPort: sidecar.addresses.admin.port,
    logLines: () =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async stop() {
      await sidecar.drain();
      identity.stop();
    },
  };
}
