// A real control-plane CA on a loopback gRPC TLS port, with a throwaway root, for tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { AuditEntry } from '../../control-plane/ca/audit-log.js';
import { addCertificateIssuer, controlPlaneServerCredentials, openCertificateAuthority, type OpenedCa } from '../../control-plane/ca/index.js';
import type { CaEndpoint } from '../../proxy/tls/ca-client.js';
import { TEST_TRUST_DOMAIN } from './throwaway-ca.js';

export interface TestCaServer extends OpenedCa {
  readonly endpoint: CaEndpoint;
  readonly port: number;
  readonly stateDir: string;
  readonly audit: AuditEntry[];
  close(): Promise<void>;
}

export async function startCaServer(options: { defaultTtlMs?: number; port?: number } = {}): Promise<TestCaServer> {
  const stateDir = await mkdtemp(join(tmpdir(), 'weft-ca-server-'));
  const opened = await openCertificateAuthority({ stateDir, trustDomain: TEST_TRUST_DOMAIN, ...(options.defaultTtlMs === undefined ? {} : { defaultTtlMs: options.defaultTtlMs }) });
  const audit: AuditEntry[] = [];
  const server = new grpc.Server();
  addCertificateIssuer(server, opened, (entry) => audit.push(entry));
  const tls = controlPlaneServerCredentials(opened.ca);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, tls.credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    ...opened,
    port,
    stateDir,
    audit,
    endpoint: { address: `127.0.0.1:${port}`, serverSpiffeId: tls.spiffeId },
    async close() {
      tls.close();
      server.forceShutdown();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
