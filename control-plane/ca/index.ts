// The CA facade the control-plane process uses: open the CA (plug-in or self-created root) and
// its bootstrap-token key, and serve the issuing API on a gRPC server.
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { CertificateIssuerService } from '../api/ca-contract.js';
import { stdoutAudit, type AuditSink } from './audit-log.js';
import { BootstrapTokens } from './bootstrap-token.js';
import { CertificateAuthority, DEFAULT_TRUST_DOMAIN } from './certificate-authority.js';
import { loadCaDirectory, loadOrCreateCaDirectory } from './ca-directory.js';
import { createIssuingService } from './issuing-service.js';

export { controlPlaneServerCredentials, type ControlPlaneTls } from './ca-server-credentials.js';
export { watchCaDirectory, type CaDirectoryWatch } from './ca-directory-watch.js';
export { CaError } from './ca-errors.js';
export { CertificateAuthority, DEFAULT_TRUST_DOMAIN } from './certificate-authority.js';
export { BootstrapTokens } from './bootstrap-token.js';
export type { AuditEntry, AuditSink } from './audit-log.js';

export interface CaOptions {
  /** Holds the bootstrap-token key and, unless `pluginCaDir` is given, the CA in `<stateDir>/ca`. */
  readonly stateDir: string;
  /** An existing CA in Istio's cacerts layout (ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem). */
  readonly pluginCaDir?: string;
  readonly trustDomain?: string;
  readonly defaultTtlMs?: number;
}

export interface OpenedCa {
  readonly ca: CertificateAuthority;
  readonly tokens: BootstrapTokens;
}

export async function openCertificateAuthority(options: CaOptions): Promise<OpenedCa> {
  const contents =
    options.pluginCaDir === undefined
      ? await loadOrCreateCaDirectory(join(options.stateDir, 'ca'))
      : await loadCaDirectory(options.pluginCaDir);
  const ca = new CertificateAuthority({
    trustDomain: options.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    signing: contents.signing,
    trustBundlePems: contents.trustBundlePems,
    ...(options.defaultTtlMs === undefined ? {} : { defaultTtlMs: options.defaultTtlMs }),
  });
  return { ca, tokens: await BootstrapTokens.open(options.stateDir) };
}

export function addCertificateIssuer(server: grpc.Server, opened: OpenedCa, audit: AuditSink = stdoutAudit): void {
  server.addService(CertificateIssuerService, createIssuingService({ ...opened, audit }));
}
