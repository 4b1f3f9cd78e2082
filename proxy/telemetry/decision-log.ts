// The authorization decision log: one JSON line per decision, on the access log's stream.
// Denials, errors and dry-run denials are always written; allows for a sample. Lines are
// written after the request's decision, batched per turn of the event loop (as OPA's decision
// logger is asynchronous): a denial's reply does not wait for its log line, nor for naming
// the rules that decided it.
import { randomUUID } from 'node:crypto';
import type { RuleDecision } from '../../policies/index.js';
import type { LineSink } from './log-lines.js';
import type { RecentDecision, RecentDecisions } from './recent-decisions.js';

export type DecisionOutcome = 'allow' | 'deny' | 'dry_run_deny' | 'error';

export interface DecisionRecord {
  readonly requestId: string;
  readonly principal: string | undefined;
  readonly asset: string | undefined;
  readonly policy: string;
  readonly decision: DecisionOutcome;
  /** The rule(s) that decided: the policy's entrypoint, and any the policy named itself. */
  readonly rules: readonly string[];
  /**
   * The Rego rules that gave their documents the values that decided (engine `explain`), or how
   * to find them when the line is written.
   */
  readonly decidedBy: readonly RuleDecision[] | (() => readonly RuleDecision[]);
  readonly reason: string | undefined;
  readonly evaluationUs: number;
}

const MAX_DECIDED_BY = 16;

/** `authz.rego:3 default data.authz.allow`: where a rule is and what it decided, as text and as JSON. */
interface RuleText {
  readonly label: string;
  readonly json: string;
}

// A rule's location object is the compiled rule's own, so its text is made once per rule.
const ruleTexts = new WeakMap<RuleDecision['location'], RuleText>();

function ruleText({ location, isDefault, document }: RuleDecision): RuleText {
  let text = ruleTexts.get(location);
  if (text === undefined) {
    const label = `${location.file}:${location.row} ${isDefault ? 'default ' : ''}${document}`;
    text = { label, json: JSON.stringify(label) };
    ruleTexts.set(location, text);
  }
  return text;
}

/** `["authz.rego:3 default data.authz.allow", ...]`: where each rule is, and what it decided. */
function decidedByJson(rules: readonly RuleDecision[]): string {
  let text = '[';
  for (let i = 0; i < rules.length && i < MAX_DECIDED_BY; i++) text += `${i === 0 ? '' : ','}${ruleText(rules[i]!).json}`;
  return `${text}]`;
}

function line(record: DecisionRecord, decidedBy: readonly RuleDecision[], time: number): string {
  // Built by hand (strings through JSON.stringify): denials are always logged.
  const str = JSON.stringify;
  return (
    `{"type":"authz_decision","time":"${new Date(time).toISOString()}","decision_id":"${randomUUID()}",` +
    `"request_id":${str(record.requestId)},"principal":${str(record.principal ?? null)},"asset":${str(record.asset ?? null)},` +
    `"policy":${str(record.policy)},"decision":"${record.decision}","rules":${str(record.rules)},"decided_by":${decidedByJson(decidedBy)},` +
    `"reason":${str(record.reason ?? null)},"evaluation_us":${Math.round(record.evaluationUs * 10) / 10}}\n`
  );
}

export class DecisionLog {
  private pending: DecisionRecord[] = [];
  private times: number[] = [];

  constructor(
    private readonly out: LineSink,
    private readonly allowSampleRate: number,
    /** Where denials, dry-run denials and errors are also kept for the admin listener. */
    private readonly recent?: RecentDecisions,
  ) {}

  /** Asked before evaluating, so an allow that is not logged is not explained either. */
  sampleAllow(): boolean {
    return this.allowSampleRate > 0 && Math.random() < this.allowSampleRate;
  }

  /** Queues the line; it is written, with the others of this turn, once the turn ends. */
  write(record: DecisionRecord): void {
    if (this.pending.length === 0) setImmediate(this.flush);
    this.pending.push(record);
    this.times.push(Date.now());
  }

  private remember(record: DecisionRecord, decidedBy: readonly RuleDecision[], time: number): void {
    const rules = decidedBy.slice(0, MAX_DECIDED_BY).map((r) => ruleText(r).label);
    this.recent?.add({
      time,
      requestId: record.requestId,
      principal: record.principal ?? null,
      asset: record.asset ?? null,
      policy: record.policy,
      decision: record.decision as RecentDecision['decision'],
      rules: rules.length > 0 ? rules : record.rules,
      reason: record.reason ?? null,
    });
  }

  private readonly flush = (): void => {
    const records = this.pending;
    const times = this.times;
    this.pending = [];
    this.times = [];
    let text = '';
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const decidedBy = typeof record.decidedBy === 'function' ? record.decidedBy() : record.decidedBy;
      text += line(record, decidedBy, times[i]!);
      if (record.decision !== 'allow') this.remember(record, decidedBy, times[i]!);
    }
    this.out.write(text);
  };
}
