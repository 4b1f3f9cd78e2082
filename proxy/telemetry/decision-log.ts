// The authorization decision log: one JSON line per decision, on the access log's stream.
// Denials, errors and dry-run denials are always written; allows for a sample.
import { randomUUID } from 'node:crypto';

export type DecisionOutcome = 'allow' | 'deny' | 'dry_run_deny' | 'error';

export interface DecisionRecord {
  readonly requestId: string;
  readonly principal: string | undefined;
  readonly asset: string | undefined;
  readonly policy: string;
  readonly decision: DecisionOutcome;
  /** The rule(s) that decided: the policy's entrypoint, and any the policy named itself. */
  readonly rules: readonly string[];
  readonly reason: string | undefined;
  readonly evaluationUs: number;
}

export class DecisionLog {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly allowSampleRate: number,
  ) {}

  /** Asked before building a record, so unsampled allows cost nothing. */
  wants(decision: DecisionOutcome): boolean {
    return decision !== 'allow' || (this.allowSampleRate > 0 && Math.random() < this.allowSampleRate);
  }

  write(record: DecisionRecord): void {
    // Built by hand (strings through JSON.stringify): denials are always logged, on the hot path.
    const str = JSON.stringify;
    const line =
      `{"type":"authz_decision","time":"${new Date().toISOString()}","decision_id":"${randomUUID()}",` +
      `"request_id":${str(record.requestId)},"principal":${str(record.principal ?? null)},"asset":${str(record.asset ?? null)},` +
      `"policy":${str(record.policy)},"decision":"${record.decision}","rules":${str(record.rules)},` +
      `"reason":${str(record.reason ?? null)},"evaluation_us":${Math.round(record.evaluationUs * 10) / 10}}\n`;
    this.out.write(line);
  }
}
