// TLS for the control plane's gRPC port. The control plane serves with its own mesh certificate
// (issued by its CA, renewed at half its lifetime) and asks for, but does not require, a client
// certificate: a new sidecar only has a bootstrap token; a renewing one presents its certificate,
// which grpc-js reports to handlers only when it verifies against the current trust bundle.
import { generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import { CONTROL_PLANE_TLS_NAME, controlPlaneSpiffeId } from '../api/ca-contract.js';
import { parseWorkloadId } from '../api/spiffe-id.js';
import type { CertificateAuthority } from './certificate-authority.js';
import { forgePublicKey } from './certificate-builder.js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

// Like grpc-js's own providers, it hands a new listener the latest update on the next tick: the
// server registers its watcher only after adding the listener.
class CaCertificateProvider implements experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private ca: experimental.CaCertificateUpdate | null = null;
  private identity: experimental.IdentityCertificateUpdate | null = null;

  setCa(update: experimental.CaCertificateUpdate): void {
    this.ca = update;
    for (const listener of this.caListeners) listener(update);
  }

  setIdentity(update: experimental.IdentityCertificateUpdate): void {
    this.identity = update;
    for (const listener of this.identityListeners) listener(update);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    if (this.ca !== null) process.nextTick(listener, this.ca);
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    if (this.identity !== null) process.nextTick(listener, this.identity);
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

export interface ControlPlaneTls {
  readonly credentials: ServerCredentials;
  readonly spiffeId: string;
  /** Stops renewing the serving certificate. */
  close(): void;
}

export function controlPlaneServerCredentials(ca: CertificateAuthority): ControlPlaneTls {
  const provider = new CaCertificateProvider();
  const id = parseWorkloadId(controlPlaneSpiffeId(ca.trustDomain));
  let timer: NodeJS.Timeout | undefined;

  const install = (privateKey: KeyObject): void => {
    const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const issued = ca.issueForKey(forgePublicKey(privateKey), id, undefined, [CONTROL_PLANE_TLS_NAME]);
    provider.setIdentity({ certificate: Buffer.from(issued.chainPems.join('')), privateKey: Buffer.from(privateKeyPem) });
    clearTimeout(timer);
    timer = setTimeout(renewInBackground, (issued.notAfter.getTime() - Date.now()) / 2).unref();
  };
  // At start and on a root switch the new certificate must be in place when this returns.
  const renewNow = (): void => install(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
  // Scheduled renewals make the key off the event loop, so issuing is not held up meanwhile.
  const renewInBackground = (): void => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (error, _publicKey, privateKey) => {
      if (error === null) install(privateKey);
      else timer = setTimeout(renewInBackground, 1000).unref();
    });
  };
  const updateBundle = (bundle: readonly string[]): void => provider.setCa({ caCertificate: Buffer.from(bundle.join('')) });

  updateBundle(ca.trustBundlePems);
  ca.on('bundle', updateBundle);
  // After a switch to a new root the serving certificate must chain to it before the old goes.
  ca.on('signing', renewNow);
  renewNow();
  return {
    credentials: experimental.createCertificateProviderServerCredentials(provider, provider, false),
    spiffeId: id.uri,
    close() {
      clearTimeout(timer);
      ca.off('bundle', updateBundle);
      ca.off('signing', renewNow);
    },
  };
}
