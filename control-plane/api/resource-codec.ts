// The one boundary between resource documents (YAML from operators, JSON from the wire) and
// domain resources: schema validation with every error at once, defaults, conversion, freezing.
// The control plane and the sidecar both decode through here, so a snapshot is checked against
// the same published schemas on arrival as the YAML it came from.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import common from './schemas/common.json' with { type: 'json' };
import workload from './schemas/workload.json' with { type: 'json' };
import asset from './schemas/asset.json' with { type: 'json' };
import authorizationPolicy from './schemas/authorization-policy.json' with { type: 'json' };
import peerAuthentication from './schemas/peer-authentication.json' with { type: 'json' };
import requestAuthentication from './schemas/request-authentication.json' with { type: 'json' };
import route from './schemas/route.json' with { type: 'json' };
import inferencePool from './schemas/inference-pool.json' with { type: 'json' };
import inferenceObjective from './schemas/inference-objective.json' with { type: 'json' };
import legacyBridge from './schemas/legacy-bridge.json' with { type: 'json' };
import {
  INFERENCE_DURATION_BOUNDS,
  isResourceKind,
  type AnyResource,
  type ResourceKind,
} from './resource-types.js';

/** One schema violation: `path` is dotted (`spec.ports[0].port`), `pointer` the JSON pointer. */
export interface SchemaIssue {
  readonly path: string;
  readonly pointer: string;
  readonly message: string;
}

export type DecodeResult =
  | { readonly ok: true; readonly resource: AnyResource }
  | { readonly ok: false; readonly issues: readonly SchemaIssue[] };

const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true });
ajv.addSchema(common);
const validators: Record<ResourceKind | 'LegacyBridge', ValidateFunction> = {
  Workload: ajv.compile(workload),
  Asset: ajv.compile(asset),
  AuthorizationPolicy: ajv.compile(authorizationPolicy),
  PeerAuthentication: ajv.compile(peerAuthentication),
  RequestAuthentication: ajv.compile(requestAuthentication),
  Route: ajv.compile(route),
  InferencePool: ajv.compile(inferencePool),
  InferenceObjective: ajv.compile(inferenceObjective),
  LegacyBridge: ajv.compile(legacyBridge),
};

export function pointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^[0-9]+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function describe(error: ErrorObject): SchemaIssue {
  let pointer = error.instancePath;
  let message = error.message ?? 'is invalid';
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    pointer += `/${String(params.additionalProperty)}`;
    message = 'is not a known field';
  } else if (error.keyword === 'required') {
    pointer += `/${String(params.missingProperty)}`;
    message = 'is required';
  } else if (error.keyword === 'enum') {
    message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (error.keyword === 'const') {
    message = `must be ${JSON.stringify(params.allowedValue)}`;
  }
  return { pointer, path: pointerToPath(pointer) || '(document)', message };
}

/** Drops the noise ajv reports for oneOf branches and if/then when a plainer error at the same place says it. */
function issuesOf(errors: readonly ErrorObject[]): SchemaIssue[] {
  const seen = new Set<string>();
  const issues: SchemaIssue[] = [];
  for (const error of errors) {
    // An if/then's failure is also reported by the `then` branch's own, plainer error.
    if (error.keyword === 'if') continue;
    const issue = describe(error);
    const key = `${issue.pointer}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function durationMs(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(text);
  if (match === null) throw new Error(`not a duration: ${text}`);
  return Math.round(Number(match[1]) * (DURATION_UNITS_MS[match[2]!] ?? 1));
}

/** A duration field: where it is (object fields by name, `*` every item of an array) and the milliseconds the sidecar takes. */
interface DurationField {
  readonly path: readonly string[];
  readonly minMs: number;
  readonly maxMs?: number;
}

/**
 * Duration fields per kind: `5s` in documents, `<field>Ms` in milliseconds in domain specs. The
 * bounds are those of the sidecar config the field becomes, so the control plane refuses what
 * no sidecar could take.
 */
const DURATION_FIELDS: Partial<Record<ResourceKind, readonly DurationField[]>> = {
  Route: [
    { path: ['timeout'], minMs: 1 },
    { path: ['retries', 'perTryTimeout'], minMs: 1 },
    { path: ['outlierDetection', 'interval'], minMs: 1 },
    { path: ['outlierDetection', 'baseEjectionTime'], minMs: 1 },
  ],
  InferencePool: [
    { path: ['picker', 'scrapeInterval'], minMs: INFERENCE_DURATION_BOUNDS.scrapeIntervalMs.minimum, maxMs: INFERENCE_DURATION_BOUNDS.scrapeIntervalMs.maximum },
    { path: ['picker', 'staleAfter'], minMs: INFERENCE_DURATION_BOUNDS.staleAfterMs.minimum, maxMs: INFERENCE_DURATION_BOUNDS.staleAfterMs.maximum },
  ],
  InferenceObjective: [
    { path: ['budgets', '*', 'window'], minMs: INFERENCE_DURATION_BOUNDS.budgetWindowMs.minimum },
    { path: ['ttftObjective'], minMs: INFERENCE_DURATION_BOUNDS.ttftObjectiveMs.minimum },
  ],
};

function eachDurationHolder(value: unknown, path: readonly string[], pointer: string, visit: (holder: Record<string, unknown>, field: string, pointer: string) => void): void {
  if (typeof value !== 'object' || value === null) return;
  const [head, ...rest] = path;
  if (rest.length === 0) {
    visit(value as Record<string, unknown>, head!, `${pointer}/${head!}`);
    return;
  }
  if (head === '*') {
    if (Array.isArray(value)) value.forEach((child, index) => eachDurationHolder(child, rest, `${pointer}/${index}`, visit));
    return;
  }
  eachDurationHolder((value as Record<string, unknown>)[head!], rest, `${pointer}/${head!}`, visit);
}

const formatMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** Document durations to domain milliseconds (or back), on a copy; decoding, every one out of its bounds is an issue. */
function convertDurations(kind: ResourceKind, spec: unknown, direction: 'decode' | 'encode', issues: SchemaIssue[] = []): Record<string, unknown> {
  const copy = structuredClone(spec) as Record<string, unknown>;
  for (const { path, minMs, maxMs } of DURATION_FIELDS[kind] ?? []) {
    eachDurationHolder(copy, path, '/spec', (holder, field, pointer) => {
      const [from, to] = direction === 'decode' ? [field, `${field}Ms`] : [`${field}Ms`, field];
      const value = holder[from];
      if (value === undefined) return;
      delete holder[from];
      if (direction === 'encode') {
        holder[to] = `${value as number}ms`;
        return;
      }
      const ms = durationMs(value as string);
      holder[to] = ms;
      if (ms < minMs) issues.push({ pointer, path: pointerToPath(pointer), message: `must be at least ${formatMs(minMs)}` });
      else if (maxMs !== undefined && ms > maxMs) issues.push({ pointer, path: pointerToPath(pointer), message: `must be at most ${formatMs(maxMs)}` });
    });
  }
  return copy;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** Module files are read by whoever loads YAML; a decoded policy carries its Rego inline. */
function fileModuleIssues(kind: ResourceKind, spec: Record<string, unknown>): SchemaIssue[] {
  if (kind !== 'AuthorizationPolicy') return [];
  const issues: SchemaIssue[] = [];
  for (const field of ['modules', 'tests']) {
    const modules = (spec[field] ?? []) as Record<string, unknown>[];
    modules.forEach((module, index) => {
      if (typeof module.file === 'string') {
        const pointer = `/spec/${field}/${index}/file`;
        issues.push({ pointer, path: pointerToPath(pointer), message: 'a module file must be read and inlined before decoding' });
      }
    });
  }
  return issues;
}

/**
 * Validates one resource document (already parsed from YAML or JSON) and returns the frozen
 * domain resource, or every schema issue. The input is not modified.
 */
export function decodeResource(document: unknown): DecodeResult {
  const kind = (document as { kind?: unknown } | null)?.kind;
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { ok: false, issues: [{ pointer: '', path: '(document)', message: 'must be a mapping with apiVersion, kind, metadata and spec' }] };
  }
  if (!isResourceKind(kind)) {
    return {
      ok: false,
      issues: [{ pointer: '/kind', path: 'kind', message: `unknown kind ${JSON.stringify(kind)}` }],
    };
  }
  const copy = structuredClone(document) as Record<string, unknown>;
  const validate = validators[kind];
  if (!validate(copy)) return { ok: false, issues: issuesOf(validate.errors ?? []) };
  const fileModules = fileModuleIssues(kind, copy.spec as Record<string, unknown>);
  if (fileModules.length > 0) return { ok: false, issues: fileModules };
  const metadata = copy.metadata as { name: string; namespace: string; labels?: Record<string, string> };
  const durationIssues: SchemaIssue[] = [];
  const spec = convertDurations(kind, copy.spec, 'decode', durationIssues);
  if (durationIssues.length > 0) return { ok: false, issues: durationIssues };
  const resource = {
    kind,
    metadata: { name: metadata.name, namespace: metadata.namespace, labels: metadata.labels ?? {} },
    spec,
  } as unknown as AnyResource;
  return { ok: true, resource: deepFreeze(resource) };
}

/** The document form of a domain resource (what the schema describes), e.g. for the wire. */
export function encodeResource(resource: AnyResource): Record<string, unknown> {
  return {
    apiVersion: 'weft.dev/v1alpha1',
    kind: resource.kind,
    metadata: { ...resource.metadata, labels: { ...resource.metadata.labels } },
    spec: convertDurations(resource.kind, resource.spec, 'encode'),
  };
}
