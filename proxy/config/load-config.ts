// Loads the sidecar config: YAML parsed once, validated with ajv (every error at once, each with
// its path, e.g. `outbound.clusters[2].endpoints[0].port: expected integer`), checked for what a
// schema cannot say (filter chains, duplicate names and hosts), then deep-frozen.
import { readFile } from 'node:fs/promises';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { parseWorkloadId } from '../../control-plane/api/spiffe-id.js';
import { filterFactory, filterNames } from '../filters/registry.js';
import { loadBalancerFactory, loadBalancerNames } from '../upstream/load-balancers.js';
import { sidecarConfigSchema } from './schema.js';
import type { FilterConfig, SidecarConfig } from './types.js';

/** A config that cannot be used; `exitCode` 2 makes the CLI print it without a stack trace. */
export class ConfigError extends Error {
  readonly exitCode = 2;

  constructor(
    source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid config ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false });
const validateSidecar = ajv.compile(sidecarConfigSchema);
/** Compiled config schemas of filters and balancers, by the schema object. */
const pluginValidators = new WeakMap<object, ValidateFunction>();

export async function loadConfigFile(file: string): Promise<SidecarConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read: ${(error as Error).message}`]);
  }
  return parseConfig(text, file);
}

/** Parses and validates YAML text; throws ConfigError listing every problem. */
export function parseConfig(text: string, source = '<config>'): SidecarConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(source, document.errors.map((e) => `yaml: ${e.message.split('\n')[0]}`));
  }
  const value: unknown = document.toJS();
  return validateConfig(value, source);
}

/** Validates a parsed config object (YAML or, later, a control-plane snapshot). */
export function validateConfig(value: unknown, source = '<config>'): SidecarConfig {
  const config = structuredClone(value);
  const problems = validateSidecar(config) ? [] : schemaProblems(validateSidecar.errors ?? [], '');
  if (problems.length === 0) problems.push(...semanticProblems(config as SidecarConfig));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze(config as SidecarConfig);
}

function semanticProblems(config: SidecarConfig): string[] {
  const problems: string[] = [];
  if (config.inbound !== undefined) problems.push(...chainProblems(config.inbound.filters, 'inbound.filters'));
  if (config.outbound !== undefined) {
    problems.push(...chainProblems(config.outbound.filters, 'outbound.filters'));
    const names = new Map<string, number>();
    const hosts = new Map<string, string>();
    config.outbound.clusters.forEach((cluster, i) => {
      const at = `outbound.clusters[${i}]`;
      const earlier = names.get(cluster.name);
      if (earlier !== undefined) problems.push(`${at}.name: '${cluster.name}' already names outbound.clusters[${earlier}]`);
      names.set(cluster.name, i);
      const balancer = loadBalancerFactory(cluster.loadBalancer);
      if (balancer === undefined) {
        problems.push(`${at}.loadBalancer: unknown load balancer '${cluster.loadBalancer}' (known: ${loadBalancerNames().join(', ')})`);
      } else {
        problems.push(...pluginConfigProblems(balancer.configSchema, cluster.loadBalancerConfig, `${at}.loadBalancerConfig`));
      }
      cluster.hosts.forEach((host, j) => {
        const key = host.toLowerCase();
        const owner = hosts.get(key);
        if (owner !== undefined) problems.push(`${at}.hosts[${j}]: '${host}' is already routed to cluster '${owner}'`);
        hosts.set(key, cluster.name);
      });
    });
  }
  // The admin listener serves the config and metrics without authentication.
  if (!isLoopback(config.admin.address)) problems.push(`admin.address: '${config.admin.address}' is not a loopback address`);
  problems.push(...identityProblems(config));
  if (config.limits.headersTimeoutMs > config.limits.requestTimeoutMs) {
    problems.push('limits.headersTimeoutMs: must not exceed limits.requestTimeoutMs');
  }
  const ports: [string, number][] = [['admin.port', config.admin.port]];
  if (config.inbound !== undefined) ports.push(['inbound.port', config.inbound.port]);
  if (config.outbound !== undefined) ports.push(['outbound.port', config.outbound.port]);
  const seen = new Map<number, string>();
  for (const [at, port] of ports) {
    const other = port === 0 ? undefined : seen.get(port);
    if (other !== undefined) problems.push(`${at}: port ${port} is also ${other}`);
    seen.set(port, at);
  }
  return problems;
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/** mTLS needs an identity; every SPIFFE ID named must be a valid workload ID. */
function identityProblems(config: SidecarConfig): string[] {
  const problems: string[] = [];
  const checkId = (id: string | undefined, at: string) => {
    if (id === undefined) return;
    try {
      parseWorkloadId(id);
    } catch (error) {
      problems.push(`${at}: ${(error as Error).message}`);
    }
  };
  const { identity } = config;
  if (identity !== undefined) {
    checkId(`spiffe://${identity.trustDomain}/ns/${config.namespace}/sa/${identity.serviceAccount ?? config.workload}`, 'identity');
    checkId(identity.ca.serverSpiffeId, 'identity.ca.serverSpiffeId');
  }
  const mode = config.inbound?.mtls;
  if (identity === undefined && mode !== undefined && mode !== 'DISABLE') {
    problems.push(`inbound.mtls: ${mode} needs an identity section (or set DISABLE)`);
  }
  config.outbound?.clusters.forEach((cluster, i) => {
    checkId(cluster.spiffeId, `outbound.clusters[${i}].spiffeId`);
    if (cluster.spiffeId !== undefined && identity === undefined) {
      problems.push(`outbound.clusters[${i}].spiffeId: mTLS to the cluster needs an identity section`);
    }
  });
  return problems;
}

function chainProblems(filters: readonly FilterConfig[], at: string): string[] {
  const problems: string[] = [];
  filters.forEach((filter, i) => {
    const factory = filterFactory(filter.name);
    if (factory === undefined) {
      problems.push(`${at}[${i}].name: unknown filter '${filter.name}' (known: ${filterNames().join(', ')})`);
      return;
    }
    problems.push(...pluginConfigProblems(factory.configSchema, filter.config ?? {}, `${at}[${i}].config`));
    if (factory.terminal && i !== filters.length - 1) {
      problems.push(`${at}[${i}]: '${filter.name}' must be the last filter of the chain`);
    }
  });
  const last = filters.at(-1);
  if (last !== undefined && filterFactory(last.name)?.terminal === false) {
    problems.push(`${at}: the chain must end with the router`);
  }
  return problems;
}

/** A filter's or balancer's config checked with its own schema (defaults filled in). */
function pluginConfigProblems(schema: object, config: unknown, at: string): string[] {
  let validate = pluginValidators.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    pluginValidators.set(schema, validate);
  }
  return validate(config) ? [] : schemaProblems(validate.errors ?? [], at);
}

/** `/outbound/clusters/2/port` under `prefix` -> `prefix.outbound.clusters[2].port`. */
function pathOf(prefix: string, pointer: string): string {
  let path = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(segment) ? `[${segment}]` : path === '' ? segment : `.${segment}`;
  }
  return path;
}

function join(path: string, property: string): string {
  return path === '' ? property : `${path}.${property}`;
}

function schemaProblems(errors: readonly ErrorObject[], prefix: string): string[] {
  const problems: string[] = [];
  for (const error of errors) {
    const path = pathOf(prefix, error.instancePath);
    const params = error.params as Record<string, unknown>;
    // The root's anyOf (inbound or outbound) is reported once, in words.
    if (error.schemaPath.startsWith('#/anyOf/')) continue;
    switch (error.keyword) {
      case 'anyOf':
        problems.push(`${path || '(root)'}: needs an inbound or an outbound listener (or both)`);
        break;
      case 'type':
        problems.push(`${path || '(root)'}: expected ${String(params.type)}`);
        break;
      case 'required':
        problems.push(`${join(path, String(params.missingProperty))}: required`);
        break;
      case 'additionalProperties':
        problems.push(`${join(path, String(params.additionalProperty))}: unknown field`);
        break;
      case 'enum':
        problems.push(`${path}: expected one of ${(params.allowedValues as unknown[]).join(', ')}`);
        break;
      default:
        problems.push(`${path || '(root)'}: ${error.message ?? error.keyword}`);
    }
  }
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
