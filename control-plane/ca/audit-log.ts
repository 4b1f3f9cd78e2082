// The control plane's audit trail: one JSON line per security decision, granted or refused: the
// CA's issuing decisions, and every change asked of the admin API, each naming its caller.
export interface CertificateAuditEntry {
  readonly event: 'certificate.issued' | 'certificate.refused';
  readonly peer: string;
  readonly credential: 'bootstrap-token' | 'kubernetes-token' | 'certificate' | 'none';
  readonly spiffeId?: string;
  readonly tokenId?: string;
  readonly serial?: string;
  readonly notAfter?: string;
  readonly code?: string;
  readonly reason?: string;
}

export interface AdminAuditEntry {
  readonly event: 'admin.change' | 'admin.refused';
  readonly peer: string;
  /** The credential that called (`admin-token:<scope>:<fingerprint>`), or `none`. */
  readonly caller: string;
  readonly route: string;
  readonly dryRun?: boolean;
  readonly revision?: number;
  readonly changes?: readonly string[];
  readonly code?: string;
  readonly reason?: string;
}

export type AuditEntry = CertificateAuditEntry | AdminAuditEntry;

export type AuditSink = (entry: AuditEntry) => void;

export const stdoutAudit: AuditSink = (entry) => {
  const component = entry.event.startsWith('admin.') ? 'admin' : 'ca';
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), component, ...entry })}\n`);
};
