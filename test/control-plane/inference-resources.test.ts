// InferencePool and InferenceObjective: decoded with defaults and durations in milliseconds,
// every schema problem at once, the pool reference checked, encoded back to the same document.
import { describe, expect, it } from 'vitest';
import { decodeResource, encodeResource } from '../../control-plane/api/resource-codec.js';
import type { Resource } from '../../control-plane/api/resource-types.js';
import { loadFileSet } from '../../control-plane/resources/document-loader.js';
import { checkReferences } from '../../control-plane/resources/reference-check.js';

const POOL_YAML = `apiVersion: weft.dev/v1alpha1
kind: InferencePool
metadata: { name: llm }
spec:
  selector: { matchLabels: { app: vllm } }
  targetPorts: [8000]
  picker:
    weights: { prefixAffinity: 5 }
    staleAfter: 1500ms
`;

const OBJECTIVE_YAML = `apiVersion: weft.dev/v1alpha1
kind: InferenceObjective
metadata: { name: batch }
spec:
  poolRef: llm
  models: [sim/llama-3-8b]
  tenantFrom: { source: jwtClaim, claim: org }
  priority: -1
  budgets: [{ window: 1m, tokens: 100000 }]
  ttftObjective: 500ms
`;

const files = (entries: Record<string, string>) => new Map(Object.entries(entries));
const doc = (kind: string, spec: unknown) => ({ apiVersion: 'weft.dev/v1alpha1', kind, metadata: { name: 'x' }, spec });

describe('InferencePool and InferenceObjective resources', () => {
  it('decode with their defaults filled and durations in milliseconds', () => {
    const result = loadFileSet(files({ 'pool.yaml': POOL_YAML, 'objective.yaml': OBJECTIVE_YAML }));
    expect(result.problems).toEqual([]);
    expect(checkReferences(result.resources)).toEqual([]);
    const pool = result.resources.find((r) => r.resource.kind === 'InferencePool')!.resource as Resource<'InferencePool'>;
    expect(pool.spec).toEqual({
      selector: { matchLabels: { app: 'vllm' } },
      targetPorts: [8000],
      engine: 'vllm',
      metricsPath: '/metrics',
      picker: {
        weights: { queue: 1, kvCache: 1, inFlightTokens: 1, prefixAffinity: 5, lora: 1 },
        prefixBlockChars: 256,
        prefixBlocks: 1,
        affinityLoadBound: 3,
        scrapeIntervalMs: 50,
        staleAfterMs: 1500,
      },
      failureMode: 'FailClose',
      kvIsolation: 'none',
    });
    expect(Object.isFrozen(pool.spec.picker.weights)).toBe(true);
    const objective = result.resources.find((r) => r.resource.kind === 'InferenceObjective')!.resource as Resource<'InferenceObjective'>;
    expect(objective.spec).toEqual({
      poolRef: 'llm',
      models: ['sim/llama-3-8b'],
      tenantFrom: { source: 'jwtClaim', claim: 'org' },
      priority: -1,
      budgets: [{ windowMs: 60_000, tokens: 100_000, endStreams: false }],
      ttftObjectiveMs: 500,
    });
  });

  it('encode back to documents that decode to the same resources', () => {
    for (const text of [POOL_YAML, OBJECTIVE_YAML]) {
      const [loaded] = loadFileSet(files({ 'r.yaml': text })).resources;
      const again = decodeResource(encodeResource(loaded!.resource));
      expect(again).toEqual({ ok: true, resource: loaded!.resource });
    }
    const encoded = encodeResource(loadFileSet(files({ 'o.yaml': OBJECTIVE_YAML })).resources[0]!.resource);
    expect(encoded.spec).toMatchObject({ budgets: [{ window: '60000ms' }], ttftObjective: '500ms' });
  });

  it('a pool names its servers by selector or by static endpoints, not both or neither', () => {
    expect(decodeResource(doc('InferencePool', { endpoints: [{ host: '10.0.0.7' }], targetPorts: [8000], engine: 'sglang' })).ok).toBe(true);
    for (const spec of [{ targetPorts: [8000] }, { selector: { matchLabels: { a: 'b' } }, endpoints: [{ host: 'h' }], targetPorts: [8000] }]) {
      const result = decodeResource(doc('InferencePool', spec));
      expect(result.ok).toBe(false);
      expect(result.ok ? [] : result.issues.map((i) => i.path)).toContain('spec');
    }
  });

  it('reports every problem of a pool at once', () => {
    const result = decodeResource(doc('InferencePool', { selector: { matchLabels: { a: 'b' } }, targetPorts: [0], engine: 'tgi', failureMode: 'Maybe', picker: { weights: { queue: -1 }, staleAfter: 'soon' } }));
    expect(result.ok).toBe(false);
    const paths = result.ok ? [] : result.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['spec.targetPorts[0]', 'spec.engine', 'spec.failureMode', 'spec.picker.weights.queue', 'spec.picker.staleAfter']));
    expect(result.ok ? '' : result.issues.find((i) => i.path === 'spec.engine')!.message).toBe('must be one of "vllm", "sglang", "triton-trtllm"');
  });

  it("refuses durations the sidecars could not take: a pool's scrape interval and staleness, an objective's windows and TTFT objective", () => {
    const pool = decodeResource(doc('InferencePool', { endpoints: [{ host: 'h' }], targetPorts: [8000], picker: { scrapeInterval: '5ms', staleAfter: '11m' } }));
    expect(pool.ok ? [] : pool.issues.map((i) => `${i.path} ${i.message}`)).toEqual(['spec.picker.scrapeInterval must be at least 10ms', 'spec.picker.staleAfter must be at most 600s']);
    const objective = decodeResource(doc('InferenceObjective', { poolRef: 'llm', budgets: [{ window: '500ms', tokens: 1 }, { window: '1m', tokens: 1 }, { window: '0.5s', tokens: 1 }], ttftObjective: '0ms' }));
    expect(objective.ok ? [] : objective.issues.map((i) => `${i.path} ${i.message}`)).toEqual([
      'spec.budgets[0].window must be at least 1s',
      'spec.budgets[2].window must be at least 1s',
      'spec.ttftObjective must be at least 1ms',
    ]);
    const bounds = decodeResource(doc('InferenceObjective', { poolRef: 'llm', budgets: [{ window: '1s', tokens: 1 }], ttftObjective: '1ms' }));
    expect(bounds.ok).toBe(true);
  });

  it('takes the tenant from a verified identity only: a JWT claim source needs the claim, and no header source exists', () => {
    const base = { poolRef: 'llm' };
    expect(decodeResource(doc('InferenceObjective', { ...base, tenantFrom: { source: 'jwtClaim' } })).ok).toBe(false);
    expect(decodeResource(doc('InferenceObjective', { ...base, tenantFrom: { source: 'header', claim: 'x-tenant' } })).ok).toBe(false);
    expect(decodeResource(doc('InferenceObjective', { ...base, tenantFrom: { source: 'spiffe', claim: 'sub' } })).ok).toBe(false);
    const defaulted = decodeResource(doc('InferenceObjective', base));
    expect(defaulted.ok && defaulted.resource.spec).toEqual({ poolRef: 'llm', tenantFrom: { source: 'spiffe' }, priority: 0 });
  });

  it('an objective must name a pool that exists', () => {
    const result = loadFileSet(files({ 'objective.yaml': OBJECTIVE_YAML }));
    expect(checkReferences(result.resources)).toEqual([
      expect.objectContaining({ code: 'RESOURCE_REFERENCE_UNKNOWN', path: 'spec.poolRef', message: 'no InferencePool named "llm" in namespace default' }),
    ]);
  });
});
