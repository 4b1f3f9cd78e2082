// The sidecar's window onto its latest denials (proxy/telemetry/recent-decisions.ts), filled by
// the decision log: denials, dry-run denials and errors kept with the rules that decided, allows
// never, and no more than RECENT_DECISIONS_KEPT however many arrive.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DecisionLog, type DecisionRecord } from '../../proxy/telemetry/decision-log.js';
import { RECENT_DECISIONS_KEPT, RecentDecisions } from '../../proxy/telemetry/recent-decisions.js';

const record = (requestId: string, decision: DecisionRecord['decision']): DecisionRecord => ({
  requestId,
  principal: 'spiffe://weft.test/ns/default/sa/web',
  asset: 'orders-admin',
  policy: 'orders-authz',
  decision,
  rules: ['data.weft.authz.allow'],
  decidedBy: () => [{ document: 'data.weft.authz.allow', isDefault: true, location: { file: 'authz.rego', row: 3, col: 1 } }],
  reason: undefined,
  evaluationUs: 10,
});

const flushed = () => new Promise((resolve) => setImmediate(resolve));

describe('recent decisions', () => {
  it('keeps denials, dry-run denials and errors with the rules that decided, never allows', async () => {
    const recent = new RecentDecisions();
    const out = new PassThrough();
    const log = new DecisionLog(out, 1, recent);
    for (const [id, decision] of [['a', 'allow'], ['d', 'deny'], ['r', 'dry_run_deny'], ['e', 'error']] as const) log.write(record(id, decision));
    await flushed();
    const { added, decisions } = recent.list();
    expect(added).toBe(3);
    expect(decisions.map((d) => [d.requestId, d.decision, d.rules])).toEqual([
      ['d', 'deny', ['authz.rego:3 default data.weft.authz.allow']],
      ['r', 'dry_run_deny', ['authz.rego:3 default data.weft.authz.allow']],
      ['e', 'error', ['authz.rego:3 default data.weft.authz.allow']],
    ]);
    // The log line names the same rule.
    expect(String(out.read())).toContain('"decided_by":["authz.rego:3 default data.weft.authz.allow"]');
  });

  it(`holds the latest ${RECENT_DECISIONS_KEPT} and counts every one added`, () => {
    const recent = new RecentDecisions();
    const total = RECENT_DECISIONS_KEPT + 37;
    for (let i = 0; i < total; i++) recent.add({ time: i, requestId: `r${i}`, principal: null, asset: null, policy: 'p', decision: 'deny', rules: [], reason: null });
    const { added, decisions } = recent.list();
    expect(added).toBe(total);
    expect(decisions).toHaveLength(RECENT_DECISIONS_KEPT);
    expect(decisions[0]!.requestId).toBe(`r${total - RECENT_DECISIONS_KEPT}`);
    expect(decisions.at(-1)!.requestId).toBe(`r${total - 1}`);
  });
});
