// The CA's audit trail: one JSON line per issuing decision, granted or refused.
export interface AuditEntry {
  readonly event: 'certificate.issued' | 'certificate.refused';
  readonly peer: string;
  readonly credential: 'bootstrap-token' | 'certificate' | 'none';
  readonly spiffeId?: string;
  readonly tokenId?: string;
  readonly serial?: string;
  readonly notAfter?: string;
  readonly code?: string;
  readonly reason?: string;
}

export type AuditSink = (entry: AuditEntry) => void;

export const stdoutAudit: AuditSink = (entry) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), component: 'ca', ...entry })}\n`);
};
