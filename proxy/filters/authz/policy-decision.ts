// A policy's result read as the OPA-Envoy plugin reads it: a boolean, or an object with
// `allowed` (required) and optional `http_status`, `headers`, `response_headers_to_add`,
// `request_headers_to_remove`, `body`; weft also reads `reason` and `rule` for the decision log.
// Anything else is an error, and errors deny.

export interface PolicyDecision {
  readonly allowed: boolean;
  readonly httpStatus: number | undefined;
  /** Deny: sent to the caller; allow: added to the upstream request. Flat [name, value, ...]. */
  readonly headers: readonly string[];
  readonly responseHeadersToAdd: readonly string[];
  readonly requestHeadersToRemove: readonly string[];
  readonly body: string | undefined;
  readonly reason: string | undefined;
  readonly rules: readonly string[];
}

export class DecisionShapeError extends Error {}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function headerList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DecisionShapeError(`${field} is not an object`);
  const flat: string[] = [];
  for (const [name, v] of Object.entries(value)) {
    const values = Array.isArray(v) ? v : [v];
    for (const item of values) {
      if (typeof item !== 'string' || !HEADER_NAME.test(name) || !HEADER_VALUE.test(item)) {
        throw new DecisionShapeError(`${field}.${name} is not a valid header`);
      }
      flat.push(name.toLowerCase(), item);
    }
  }
  return flat;
}

const allow: PolicyDecision = Object.freeze({
  allowed: true,
  httpStatus: undefined,
  headers: [],
  responseHeadersToAdd: [],
  requestHeadersToRemove: [],
  body: undefined,
  reason: undefined,
  rules: [],
});
const deny: PolicyDecision = Object.freeze({ ...allow, allowed: false });

export function readDecision(value: unknown): PolicyDecision {
  if (value === true) return allow;
  if (value === false) return deny;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DecisionShapeError('decision is neither a boolean nor an object');
  const d = value as Record<string, unknown>;
  if (typeof d.allowed !== 'boolean') throw new DecisionShapeError('decision.allowed is not a boolean');
  const status = d.http_status;
  if (status !== undefined && (!Number.isInteger(status) || (status as number) < 200 || (status as number) > 599)) {
    throw new DecisionShapeError('decision.http_status is not an HTTP status');
  }
  const remove = d.request_headers_to_remove ?? [];
  if (!Array.isArray(remove) || !remove.every((n) => typeof n === 'string')) {
    throw new DecisionShapeError('decision.request_headers_to_remove is not a list of names');
  }
  const rules = d.rule ?? d.rules ?? [];
  return {
    allowed: d.allowed,
    httpStatus: status as number | undefined,
    headers: headerList(d.headers, 'headers'),
    responseHeadersToAdd: headerList(d.response_headers_to_add, 'response_headers_to_add'),
    requestHeadersToRemove: (remove as string[]).map((n) => n.toLowerCase()),
    body: typeof d.body === 'string' ? d.body : undefined,
    reason: typeof d.reason === 'string' ? d.reason : undefined,
    rules: typeof rules === 'string' ? [rules] : Array.isArray(rules) ? rules.filter((r): r is string => typeof r === 'string') : [],
  };
}
