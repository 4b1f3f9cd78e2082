// The tenant from verified identities only, and the objective that governs a request.
import { describe, expect, it } from 'vitest';
import type { InferenceObjectiveSpec } from '../../../control-plane/api/resource-types.js';
import { governingObjective, matchingObjectives, tenantOf, type NamedObjective } from '../../../proxy/filters/inference/tenancy.js';

const WEB = 'spiffe://cluster.local/ns/default/sa/web';
const user = (claims: Record<string, unknown>) => ({ issuer: 'https://idp', claims });
const objective = (name: string, spec: Partial<InferenceObjectiveSpec>): NamedObjective => ({ name, spec: { poolRef: 'llm', tenantFrom: { source: 'spiffe' }, priority: 0, ...spec } });

const objectiveFor = (objectives: readonly NamedObjective[], model: string, principal: string | undefined, endUser: ReturnType<typeof user> | undefined) =>
  governingObjective(matchingObjectives(objectives, model, principal, endUser));

describe('inference tenancy', () => {
  it('takes the tenant from the workload identity or a verified JWT claim, nothing else', () => {
    expect(tenantOf({ source: 'spiffe' }, WEB, user({ org: 'acme' }))).toBe(WEB);
    expect(tenantOf({ source: 'jwtClaim', claim: 'org' }, WEB, user({ org: 'acme' }))).toBe('acme');
    // No verified token, or a claim that is not a plain string: no tenant (the filter refuses).
    expect(tenantOf({ source: 'jwtClaim', claim: 'org' }, WEB, undefined)).toBeUndefined();
    expect(tenantOf({ source: 'jwtClaim', claim: 'org' }, WEB, user({ org: ['acme', 'evil'] }))).toBeUndefined();
    expect(tenantOf({ source: 'jwtClaim', claim: 'org' }, WEB, user({ org: '' }))).toBeUndefined();
    expect(tenantOf({ source: 'spiffe' }, undefined, user({ org: 'acme' }))).toBeUndefined();
    // A claim past 2048 characters names no tenant; one of 2048 does.
    expect(tenantOf({ source: 'jwtClaim', claim: 'org' }, WEB, user({ org: 'a'.repeat(2048) }))).toBe('a'.repeat(2048));
    expect(tenantOf({ source: 'jwtClaim', claim: 'org' }, WEB, user({ org: 'a'.repeat(2049) }))).toBeUndefined();
  });

  it('picks the most specific matching objective, ties by name', () => {
    const objectives = [
      objective('default', {}),
      objective('sql-model', { models: ['sql'], priority: 1 }),
      objective('web-tenant', { tenants: [WEB], priority: 2 }),
      objective('web-sql', { tenants: [WEB], models: ['sql'], priority: 3 }),
      objective('acme', { tenantFrom: { source: 'jwtClaim', claim: 'org' }, tenants: ['acme'], priority: -1 }),
    ];
    expect(objectiveFor(objectives, 'sql', WEB, undefined)?.objective.name).toBe('web-sql');
    expect(objectiveFor(objectives, 'chat', WEB, undefined)?.objective.name).toBe('web-tenant');
    expect(objectiveFor(objectives, 'sql', 'spiffe://cluster.local/ns/default/sa/other', undefined)?.objective.name).toBe('sql-model');
    expect(objectiveFor(objectives, 'chat', 'spiffe://x/ns/a/sa/b', undefined)?.objective.name).toBe('default');
    // 'acme' (tenant acme) and 'web-tenant' (tenant WEB) are equally specific: the name decides.
    const both = objectiveFor(objectives, 'chat', WEB, user({ org: 'acme' }));
    expect(both).toEqual({ objective: objectives[4], tenant: 'acme' });
    expect(objectiveFor([objectives[1]!], 'chat', WEB, undefined)).toBeUndefined();
    // Every match counts its budgets; the most specific governs.
    expect(matchingObjectives(objectives, 'sql', WEB, undefined).map((m) => m.objective.name)).toEqual(['default', 'sql-model', 'web-tenant', 'web-sql']);
    // Whatever the order they come in: every sidecar picks the same.
    const reversed = [...objectives].reverse();
    expect(objectiveFor(reversed, 'sql', WEB, undefined)?.objective.name).toBe('web-sql');
    expect(objectiveFor(reversed, 'chat', WEB, undefined)?.objective.name).toBe('web-tenant');
    expect(objectiveFor(reversed, 'chat', WEB, user({ org: 'acme' }))?.objective.name).toBe('acme');
    // A less specific objective with an earlier name does not beat a more specific one.
    expect(objectiveFor([objective('z-specific', { models: ['sql'] }), objective('a-general', {})], 'sql', WEB, undefined)?.objective.name).toBe('z-specific');
  });
});
