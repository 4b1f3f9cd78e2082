// What the sidecar tells operators about its identity: the admin endpoint `/certs` and the
// metric `weft_certificate_expiry_seconds`.
import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { WorkloadIdentity } from './workload-identity.js';

const require = createRequire(import.meta.url);
const Gauge = require('prom-client/lib/gauge.js') as typeof PromClient.Gauge;

export interface CertificateReport {
  readonly spiffeId: string;
  readonly subject: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly rotations: number;
  readonly nextRenewal: string | null;
  readonly trustBundle: readonly { subject: string; serial: string; notAfter: string; sha256: string }[];
}

export function certificateReport(identity: WorkloadIdentity): CertificateReport {
  const { spiffeId, leaf, generation, trustBundlePems } = identity.current;
  return {
    spiffeId,
    subject: leaf.subject ?? '',
    serial: leaf.serialNumber,
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: new Date(leaf.validTo).toISOString(),
    rotations: generation - 1,
    nextRenewal: identity.nextRenewalAt?.toISOString() ?? null,
    trustBundle: trustBundlePems.map((pem) => {
      const root = new X509Certificate(pem);
      return { subject: root.subject, serial: root.serialNumber, notAfter: new Date(root.validTo).toISOString(), sha256: root.fingerprint256 };
    }),
  };
}

export function registerCertificateExpiry(registry: PromClient.Registry, identity: WorkloadIdentity): void {
  new Gauge({
    name: 'weft_certificate_expiry_seconds',
    help: 'Seconds until the sidecar certificate expires',
    registers: [registry],
    collect() {
      this.set((identity.current.notAfter.getTime() - Date.now()) / 1000);
    },
  });
}
