// The CA facade the control-plane process uses: open the CA (plug-in or self-created root, on
// disk or shared by the replicas through etcd) and its bootstrap-token key, and serve the
// issuing API on a gRPC server.
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { CertificateIssuerService } from '../api/ca-contract.js';
import { stdoutAudit, type CertificateAuditEntry } from './audit-log.js';
import { BootstrapTokens } from './bootstrap-token.js';
import { CertificateAuthority, DEFAULT_TRUST_DOMAIN } from './certificate-authority.js';
import { loadCaDirectory, loadOrCreateCaDirectory, type CaDirectoryContents } from './ca-directory.js';
import { loadOrCreateSharedCa } from './shared-ca.js';
import { createIssuingService } from './issuing-service.js';
import { EtcdTokenLedger, LocalTokenLedger, type TokenLedger } from './token-ledger.js';
import { TokenVerifiers } from './token-verifiers.js';

export { controlPlaneServerCredentials, type ControlPlaneTls } from './ca-server-credentials.js';
export { watchCaDirectory, type CaDirectoryWatch } from './ca-directory-watch.js';
export { CaError } from './ca-errors.js';
export { CertificateAuthority, DEFAULT_TRUST_DOMAIN } from './certificate-authority.js';
export { loadCaDirectory } from './ca-directory.js';
export { loadSharedCa } from './shared-ca.js';
export { forgePublicKey } from './certificate-builder.js';
export { BootstrapTokens } from './bootstrap-token.js';
export { TokenVerifiers, type TokenVerifier, type VerifiedToken } from './token-verifiers.js';
export { KubernetesTokenReview, kubernetesTokenReview, TOKEN_REVIEW_RULE, type TokenReviewStatus } from './kubernetes-token-review.js';
export { readEncryptionKey, ENCRYPTION_KEY_ENV } from './sealed-secret.js';
export { stdoutAudit, type AuditEntry, type AuditSink } from './audit-log.js';

export interface CaOptions {
  /** Holds the bootstrap-token key and, unless `pluginCaDir` is given, the CA in `<stateDir>/ca`. */
  readonly stateDir: string;
  /** An existing CA in Istio's cacerts layout (ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem). */
  readonly pluginCaDir?: string;
  readonly trustDomain?: string;
  readonly defaultTtlMs?: number;
  /** Replicas on an etcd store share the CA and the token key there, sealed with `encryptionKey`. */
  readonly shared?: { readonly endpoints: readonly string[]; readonly encryptionKey: Buffer };
}

export interface OpenedCa {
  readonly ca: CertificateAuthority;
  readonly tokens: BootstrapTokens;
  /** The credentials a first certificate is issued for: `tokens`, and whatever else is registered (a cluster's TokenReview). */
  readonly verifiers: TokenVerifiers;
  /** The single-use tokens spent (with an etcd store: by any replica); closed with the CA. */
  readonly ledger: TokenLedger;
}

type OpenedParts = Omit<OpenedCa, 'ca' | 'verifiers'> & { contents: CaDirectoryContents };

async function openShared(options: CaOptions & { shared: NonNullable<CaOptions['shared']> }): Promise<OpenedParts> {
  const shared = await loadOrCreateSharedCa({ ...options.shared, ...(options.pluginCaDir === undefined ? {} : { pluginCaDir: options.pluginCaDir }) });
  return { contents: shared.contents, tokens: new BootstrapTokens(createPrivateKey(shared.tokenKeyPem)), ledger: new EtcdTokenLedger(options.shared.endpoints) };
}

async function openLocal(options: CaOptions): Promise<OpenedParts> {
  const contents =
    options.pluginCaDir === undefined
      ? await loadOrCreateCaDirectory(join(options.stateDir, 'ca'))
      : await loadCaDirectory(options.pluginCaDir);
  return { contents, tokens: await BootstrapTokens.open(options.stateDir), ledger: await LocalTokenLedger.open(options.stateDir) };
}

export async function openCertificateAuthority(options: CaOptions): Promise<OpenedCa> {
  const { shared } = options;
  const { contents, tokens, ledger } = shared === undefined ? await openLocal(options) : await openShared({ ...options, shared });
  const ca = new CertificateAuthority({
    trustDomain: options.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    signing: contents.signing,
    trustBundlePems: contents.trustBundlePems,
    ...(options.defaultTtlMs === undefined ? {} : { defaultTtlMs: options.defaultTtlMs }),
  });
  return { ca, tokens, verifiers: new TokenVerifiers(tokens), ledger };
}

export function addCertificateIssuer(server: grpc.Server, opened: OpenedCa, audit: (entry: CertificateAuditEntry) => void = stdoutAudit): void {
  server.addService(CertificateIssuerService, createIssuingService({ ...opened, audit }));
}
