// The fleet profile of `weft sim vllm` (YAML): `defaults` for every server, then `servers`, each
// a name, optional replicas and port, and any parameter that differs, so one file describes a
// heterogeneous fleet. Parsed once, every problem reported at once, then frozen.
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import type { EngineParams } from './sim-engine.js';

export interface FaultParams {
  /** Fraction of requests answered `errorStatus` at once. */
  readonly errorRate: number;
  readonly errorStatus: number;
  /** Fraction of streams cut (connection destroyed) after their first token. */
  readonly abortRate: number;
}

export interface ServerParams extends EngineParams {
  readonly name: string;
  /** 0: a free port. */
  readonly port: number;
  readonly model: string;
  readonly loras: readonly string[];
  /** The simulated tokenizer: one token per this many characters. */
  readonly charsPerToken: number;
  /** Output length cap when a request gives no max_tokens. */
  readonly defaultMaxTokens: number;
  readonly faults: FaultParams;
  /** Seeds EOS placement and fault draws, so a run is reproducible. */
  readonly seed: number;
}

export interface FleetProfile {
  readonly servers: readonly ServerParams[];
}

export const DEFAULT_SERVER: Omit<ServerParams, 'name' | 'port' | 'seed'> = {
  model: 'sim/llama-3-8b',
  loras: [],
  maxNumSeqs: 16,
  kvCacheTokens: 65_536,
  blockSize: 16,
  prefixCacheBlocks: 4096,
  prefillMsPerToken: 0.05,
  decodeMsBase: 10,
  decodeMsPerSeq: 0.5,
  charsPerToken: 4,
  defaultMaxTokens: 256,
  faults: { errorRate: 0, errorStatus: 503, abortRate: 0 },
};

const positiveInt = { type: 'integer', minimum: 1 } as const;
const nonNegative = { type: 'number', minimum: 0 } as const;
const rate = { type: 'number', minimum: 0, maximum: 1 } as const;
export const faultsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { errorRate: rate, errorStatus: { type: 'integer', minimum: 400, maximum: 599 }, abortRate: rate },
} as const;
const serverProperties = {
  model: { type: 'string', minLength: 1 },
  loras: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
  maxNumSeqs: positiveInt,
  kvCacheTokens: positiveInt,
  blockSize: positiveInt,
  prefixCacheBlocks: { type: 'integer', minimum: 0 },
  prefillMsPerToken: nonNegative,
  decodeMsBase: nonNegative,
  decodeMsPerSeq: nonNegative,
  charsPerToken: positiveInt,
  defaultMaxTokens: positiveInt,
  faults: faultsSchema,
} as const;
const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['servers'],
  properties: {
    seed: { type: 'integer' },
    defaults: { type: 'object', additionalProperties: false, properties: serverProperties },
    servers: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          ...serverProperties,
          name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
          replicas: positiveInt,
          port: { type: 'integer', minimum: 0, maximum: 65535 },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile(schema);
export const validateFaults = ajv.compile(faultsSchema);

type ServerDocument = Partial<Omit<ServerParams, 'faults'>> & { name: string; replicas?: number; faults?: Partial<FaultParams> };
interface ProfileDocument {
  seed?: number;
  defaults?: Partial<Omit<ServerParams, 'faults'>> & { faults?: Partial<FaultParams> };
  servers: ServerDocument[];
}

function profileError(where: string, problems: string[]): Error {
  return Object.assign(new Error(`invalid profile ${where}:\n${problems.map((p) => `  ${p}`).join('\n')}`), { exitCode: 2 });
}

/** Expands a validated profile document: replicas named `<name>-<i>`, defaults filled in. */
export function fleetOf(document: unknown, where = '(inline)'): FleetProfile {
  if (!validate(document)) {
    throw profileError(where, (validate.errors ?? []).map((e) => `${e.instancePath.slice(1).replaceAll('/', '.') || '(root)'}: ${e.message ?? e.keyword}`));
  }
  const { seed = 1, defaults = {}, servers } = document as unknown as ProfileDocument;
  const problems: string[] = [];
  const expanded: ServerParams[] = [];
  servers.forEach(({ replicas = 1, ...server }, index) => {
    if (replicas > 1 && (server.port ?? 0) !== 0) problems.push(`servers.${index}: a fixed port cannot serve ${replicas} replicas`);
    for (let replica = 0; replica < replicas; replica += 1) {
      const params: ServerParams = {
        ...DEFAULT_SERVER,
        ...defaults,
        ...server,
        name: replicas > 1 ? `${server.name}-${replica}` : server.name,
        port: server.port ?? 0,
        faults: { ...DEFAULT_SERVER.faults, ...defaults.faults, ...server.faults },
        seed: seed + expanded.length,
      };
      if (params.loras.includes(params.model)) problems.push(`servers.${index}: LoRA adapter '${params.model}' has the base model's name`);
      if (params.prefixCacheBlocks * params.blockSize > params.kvCacheTokens) {
        problems.push(`servers.${index}: prefixCacheBlocks x blockSize (${params.prefixCacheBlocks * params.blockSize}) exceeds kvCacheTokens (${params.kvCacheTokens})`);
      }
      expanded.push(params);
    }
  });
  const names = expanded.map((s) => s.name);
  for (const name of new Set(names.filter((name, i) => names.indexOf(name) !== i))) problems.push(`servers: '${name}' is named twice`);
  if (problems.length > 0) throw profileError(where, [...new Set(problems)]);
  return Object.freeze({ servers: Object.freeze(expanded.map((s) => Object.freeze({ ...s, loras: Object.freeze([...s.loras]), faults: Object.freeze(s.faults) }))) });
}

export async function loadFleetProfile(file: string): Promise<FleetProfile> {
  let document: unknown;
  try {
    document = parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw profileError(file, [(error as Error).message]);
  }
  return fleetOf(document, file);
}
