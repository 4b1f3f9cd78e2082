// The ORCA-style load report a model server's sidecar adds to every response
// (`endpoint-load-metrics: TEXT named_metrics.waiting=3, ...`, the text form of Envoy's ORCA
// header) and the caller's sidecar reads and strips before the app sees the response. Parsed
// strictly: a malformed or oversized header is no report at all, never a partial one.
import type { ReportedLoad } from './load-table.js';

export const LOAD_REPORT_HEADER = 'endpoint-load-metrics';

const MAX_HEADER_CHARS = 4096;
const MAX_ENTRIES = 64;
const LORA_PREFIX = 'named_metrics.lora.';
const ADAPTER_NAME = /^[A-Za-z0-9._/-]{1,256}$/;
const NUMBER = /^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;

const FIELDS = {
  'named_metrics.waiting': 'waiting',
  'named_metrics.running': 'running',
  'named_metrics.kv_cache_usage': 'kvCacheUsage',
  'named_metrics.in_flight_tokens': 'inFlightTokens',
} as const satisfies Record<string, keyof ReportedLoad>;

/** A report as read from a header: the load, and how old the engine reading was when sent. */
export interface ReceivedLoadReport {
  readonly load: ReportedLoad;
  readonly ageMs: number;
}

const AGE = 'named_metrics.age_ms';

/** The header value for `load`, read from the engine `ageMs` ago. */
export function formatLoadReport(load: ReportedLoad, ageMs = 0): string {
  const entries = [
    `${AGE}=${Math.max(0, Math.round(ageMs))}`,
    `named_metrics.waiting=${load.waiting}`,
    `named_metrics.running=${load.running}`,
    `named_metrics.kv_cache_usage=${Number(load.kvCacheUsage.toFixed(4))}`,
    `named_metrics.in_flight_tokens=${load.inFlightTokens}`,
    ...load.activeLoras.filter((name) => ADAPTER_NAME.test(name)).slice(0, MAX_ENTRIES - 5).map((name) => `${LORA_PREFIX}${name}=1`),
  ];
  return `TEXT ${entries.join(', ')}`;
}

/** The report in a header value, or undefined if it is not one this format allows (no age: 0). */
export function parseLoadReport(value: string | undefined): ReceivedLoadReport | undefined {
  if (value === undefined || value.length > MAX_HEADER_CHARS || !value.startsWith('TEXT ')) return undefined;
  const entries = value.slice(5).split(',');
  if (entries.length > MAX_ENTRIES) return undefined;
  const numbers: Partial<Record<(typeof FIELDS)[keyof typeof FIELDS], number>> = {};
  const activeLoras: string[] = [];
  let ageMs = 0;
  for (const entry of entries) {
    const [key, text, extra] = entry.trim().split('=');
    if (key === undefined || text === undefined || extra !== undefined || !NUMBER.test(text)) return undefined;
    const number = Number(text);
    if (!Number.isFinite(number)) return undefined;
    if (Object.hasOwn(FIELDS, key)) numbers[FIELDS[key as keyof typeof FIELDS]] = number;
    else if (key === AGE) ageMs = number;
    else if (key.startsWith(LORA_PREFIX) && ADAPTER_NAME.test(key.slice(LORA_PREFIX.length))) activeLoras.push(key.slice(LORA_PREFIX.length));
  }
  const { waiting, running, kvCacheUsage, inFlightTokens } = numbers;
  if (waiting === undefined || running === undefined || kvCacheUsage === undefined || inFlightTokens === undefined || kvCacheUsage > 1) return undefined;
  return { load: { waiting, running, kvCacheUsage, inFlightTokens, activeLoras }, ageMs };
}
