// A real control-plane CA on a loopback gRPC TLS port, with a throwaway root, for tests. It can
// be taken down and brought back on the same port (CA outage tests).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { CertificateAuditEntry } from '../../control-plane/ca/audit-log.js';
import { addCertificateIssuer, controlPlaneServerCredentials, openCertificateAuthority, type OpenedCa } from '../../control-plane/ca/index.js';
import type { CaEndpoint } from '../../proxy/tls/ca-client.js';
import { WorkloadIdentity, type WorkloadIdentityOptions } from '../../proxy/tls/workload-identity.js';
import { TEST_TRUST_DOMAIN, testId } from './throwaway-ca.js';

export interface TestCaServer extends OpenedCa {
  readonly endpoint: CaEndpoint;
  readonly port: number;
  readonly stateDir: string;
  readonly audit: CertificateAuditEntry[];
  /** Stops serving (connections are cut) but keeps the CA. */
  pause(): void;
  /** Serves the same CA again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** `host`: where it listens (default 127.0.0.1; the network-namespace test gives a bridge address). */
export async function startCaServer(options: { defaultTtlMs?: number; host?: string } = {}): Promise<TestCaServer> {
  const host = options.host ?? '127.0.0.1';
  const stateDir = await mkdtemp(join(tmpdir(), 'weft-ca-server-'));
  const opened = await openCertificateAuthority({
    stateDir,
    trustDomain: TEST_TRUST_DOMAIN,
    ...(options.defaultTtlMs === undefined ? {} : { defaultTtlMs: options.defaultTtlMs }),
  });
  const audit: CertificateAuditEntry[] = [];
  const tls = controlPlaneServerCredentials(opened.ca);
  let server: grpc.Server | undefined;
  const serve = async (port: number): Promise<number> => {
    const next = new grpc.Server();
    addCertificateIssuer(next, opened, (entry) => audit.push(entry));
    const bound = await new Promise<number>((resolve, reject) =>
      next.bindAsync(`${host}:${port}`, tls.credentials, (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
    );
    server = next;
    return bound;
  };
  const port = await serve(0);
  return {
    ...opened,
    port,
    stateDir,
    audit,
    endpoint: { address: `${host}:${port}`, serverSpiffeId: tls.spiffeId },
    pause() {
      server?.forceShutdown();
      server = undefined;
    },
    async resume() {
      await serve(port);
    },
    async close() {
      tls.close();
      server?.forceShutdown();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** A sidecar identity bootstrapped from `server` with a fresh token, started. */
export async function startWorkloadIdentity(
  server: TestCaServer,
  spiffeId: string,
  options: Partial<WorkloadIdentityOptions> = {},
): Promise<WorkloadIdentity> {
  const identity = new WorkloadIdentity({
    spiffeId,
    ca: server.endpoint,
    trustBundlePems: server.ca.trustBundlePems,
    bootstrapToken: await server.tokens.mint({ spiffeId }),
    ...options,
  });
  await identity.start();
  return identity;
}

/**
 * The `identity` block of a spawned sidecar's config for `workload` (SPIFFE ID testId(workload)):
 * bootstrapped from `server` with a fresh token, the token and trust bundle as files in `dir`
 * (`name` keeps apart the files of two sidecars of one workload; `dir` holds no key).
 */
export async function sidecarIdentityConfig(server: TestCaServer, dir: string, workload: string, name = workload): Promise<Record<string, unknown>> {
  // One bundle file per sidecar: sidecars started together never read one another's being rewritten.
  const bundle = join(dir, `${name}-root-cert.pem`);
  await writeFile(bundle, server.ca.trustBundlePems.join(''));
  const tokenFile = join(dir, `${name}.token`);
  await writeFile(tokenFile, `${await server.tokens.mint({ spiffeId: testId(workload) })}\n`);
  return { trustDomain: TEST_TRUST_DOMAIN, ca: { address: server.endpoint.address, trustBundleFile: bundle }, bootstrapTokenFile: tokenFile };
}
