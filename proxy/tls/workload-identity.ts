// A sidecar's identity: its key (made here, never sent anywhere), its certificate chain and the
// trust bundle, all in memory. It obtains the first certificate with a bootstrap token, renews
// over mTLS at half the lifetime (with jitter, so sidecars spread out), retries with backoff while
// the CA is unreachable and meanwhile keeps serving with the certificate it has.
import { EventEmitter } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { parseWorkloadId } from '../../control-plane/api/spiffe-id.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { controlPlaneCredentials, fetchTrustBundle, requestCertificate, type CaCredential, type CaEndpoint } from './ca-client.js';
import { createWorkloadKey } from './workload-key.js';

export interface WorkloadIdentityOptions {
  readonly spiffeId: string;
  readonly ca: CaEndpoint;
  /** The roots that vouch for the CA server before the first certificate (root-cert.pem). */
  readonly trustBundlePems: readonly string[];
  readonly bootstrapToken: string;
  /** 0 or absent: the CA's default lifetime. */
  readonly requestedTtlSeconds?: number;
  /** Renew at this fraction of the lifetime, minus up to `jitterFraction` of it. */
  readonly renewAtFraction?: number;
  readonly jitterFraction?: number;
  readonly backoff?: BackoffOptions;
  /** How often to fetch the trust bundle between renewals (root rotation), default 5 minutes. */
  readonly bundleRefreshMs?: number;
}

export interface IdentitySnapshot {
  readonly spiffeId: string;
  readonly privateKeyPem: string;
  /** Leaf first, then intermediates. */
  readonly chainPems: readonly string[];
  readonly trustBundlePems: readonly string[];
  readonly leaf: X509Certificate;
  readonly notAfter: Date;
  /** Certificates obtained so far; 1 after the first. */
  readonly generation: number;
}

interface IdentityEvents {
  /** A new certificate or trust bundle is in use. */
  updated: [IdentitySnapshot];
  /** A CA request failed; the current certificate stays in use and the request is retried. */
  renewalFailed: [Error, { attempt: number; retryInMs: number }];
}

export class WorkloadIdentity extends EventEmitter<IdentityEvents> {
  private snapshot: IdentitySnapshot | undefined;
  private context: SecureContext | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private bundleTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private renewalDue: Date | undefined;

  constructor(private readonly options: WorkloadIdentityOptions) {
    super();
    parseWorkloadId(options.spiffeId);
    if (options.trustBundlePems.length === 0) throw new Error('the trust bundle for the CA server is empty');
  }

  /** Resolves once the first certificate is held; retries with backoff until then. */
  start(): Promise<IdentitySnapshot> {
    return new Promise((resolve, reject) => {
      const first = (snapshot: IdentitySnapshot) => resolve(snapshot);
      this.once('updated', first);
      this.stopHandlers.push(() => {
        this.off('updated', first);
        reject(new Error('the workload identity was stopped before it obtained a certificate'));
      });
      void this.renew(0);
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.bundleTimer);
    for (const handler of this.stopHandlers.splice(0)) handler();
  }

  /** When the next renewal is planned (for the admin endpoint and tests). */
  get nextRenewalAt(): Date | undefined {
    return this.renewalDue;
  }

  get current(): IdentitySnapshot {
    if (this.snapshot === undefined) throw new Error('the workload identity has no certificate yet');
    return this.snapshot;
  }

  /** TLS settings for the current certificate: TLS 1.2 at least, the mesh roots as the only CAs. */
  secureContextOptions(): SecureContextOptions {
    const { privateKeyPem, chainPems, trustBundlePems } = this.current;
    return { key: privateKeyPem, cert: chainPems.join(''), ca: trustBundlePems.join(''), minVersion: 'TLSv1.2' };
  }

  /** A context for new outbound connections, rebuilt whenever the certificate or bundle changes. */
  secureContext(): SecureContext {
    this.context ??= createSecureContext(this.secureContextOptions());
    return this.context;
  }

  private readonly stopHandlers: (() => void)[] = [];

  /** gRPC credentials for other control-plane services (discovery), with the current certificate. */
  controlPlaneCredentials(): ChannelCredentials {
    const { privateKeyPem, chainPems, trustBundlePems } = this.current;
    return controlPlaneCredentials(this.options.ca, trustBundlePems, { kind: 'certificate', privateKeyPem, chainPems });
  }

  private credential(): CaCredential {
    const held = this.snapshot;
    if (held !== undefined && held.notAfter.getTime() > Date.now()) {
      return { kind: 'certificate', privateKeyPem: held.privateKeyPem, chainPems: held.chainPems };
    }
    return { kind: 'token', token: this.options.bootstrapToken };
  }

  private async renew(attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      const key = await createWorkloadKey(this.options.spiffeId);
      const response = await requestCertificate({
        endpoint: this.options.ca,
        trustBundlePems: this.snapshot?.trustBundlePems ?? this.options.trustBundlePems,
        credential: this.credential(),
        csrPem: key.csrPem,
        requestedTtlSeconds: this.options.requestedTtlSeconds ?? 0,
      });
      if (this.stopped) return;
      const leaf = new X509Certificate(response.certificateChainPem[0] ?? '');
      this.install({
        spiffeId: this.options.spiffeId,
        privateKeyPem: key.privateKeyPem,
        chainPems: response.certificateChainPem,
        trustBundlePems: response.trustBundle.rootCertificatePem,
        leaf,
        notAfter: new Date(leaf.validTo),
        generation: (this.snapshot?.generation ?? 0) + 1,
      });
      this.scheduleRenewal();
    } catch (error) {
      if (this.stopped) return;
      const retryInMs = backoffDelay(attempt, this.options.backoff ?? DEFAULT_BACKOFF);
      this.renewalDue = new Date(Date.now() + retryInMs);
      this.emit('renewalFailed', error as Error, { attempt, retryInMs });
      this.renewTimer = setTimeout(() => void this.renew(attempt + 1), retryInMs).unref();
    }
  }

  private scheduleRenewal(): void {
    const { notAfter } = this.current;
    const remaining = notAfter.getTime() - Date.now();
    const fraction = (this.options.renewAtFraction ?? 0.5) - Math.random() * (this.options.jitterFraction ?? 0.1);
    const delay = Math.max(0, remaining * fraction);
    this.renewalDue = new Date(Date.now() + delay);
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => void this.renew(0), delay).unref();
    clearTimeout(this.bundleTimer);
    this.bundleTimer = setTimeout(() => void this.refreshBundle(), this.options.bundleRefreshMs ?? 300_000).unref();
  }

  /** Fetches the trust bundle between renewals, so a root added at the CA is trusted early. */
  async refreshBundle(): Promise<void> {
    const held = this.current;
    try {
      const bundle = await fetchTrustBundle({
        endpoint: this.options.ca,
        trustBundlePems: held.trustBundlePems,
        credential: this.credential(),
      });
      const roots = bundle.rootCertificatePem;
      const changed = roots.length !== held.trustBundlePems.length || roots.some((pem, i) => pem !== held.trustBundlePems[i]);
      if (changed && !this.stopped && this.snapshot === held) this.install({ ...held, trustBundlePems: roots });
    } catch (error) {
      this.emit('renewalFailed', error as Error, { attempt: 0, retryInMs: this.options.bundleRefreshMs ?? 300_000 });
    }
    if (!this.stopped) {
      clearTimeout(this.bundleTimer);
      this.bundleTimer = setTimeout(() => void this.refreshBundle(), this.options.bundleRefreshMs ?? 300_000).unref();
    }
  }

  private install(snapshot: IdentitySnapshot): void {
    this.snapshot = Object.freeze(snapshot);
    this.context = undefined;
    this.emit('updated', this.snapshot);
  }
}
