// The manifest of a `weft up` directory (weft-up.json): the app process of each workload, the
// lines shown under "try it", and what `--traffic` sends. JSON, not YAML, because every YAML file
// in the directory is a mesh resource for the control plane's file store.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';

export const MANIFEST_FILE = 'weft-up.json';

export interface WorkloadProcess {
  /** argv; `${VAR}` is replaced from the app's environment. */
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly namespace: string;
  /** Fixed ports; absent: a free one is chosen at start. */
  readonly appPort?: number;
  readonly inboundPort?: number;
  readonly outboundPort?: number;
  readonly adminPort?: number;
}

/** One request `--traffic` repeats; a `body` is sent as JSON. */
export interface TrafficEntry {
  readonly from: string;
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly body?: Readonly<Record<string, unknown>>;
}

export interface Manifest {
  readonly workloads: Readonly<Record<string, WorkloadProcess>>;
  readonly try: readonly { readonly say: string; readonly command: string }[];
  readonly traffic: readonly TrafficEntry[];
  readonly controlPlane: { readonly grpcPort?: number; readonly adminPort?: number };
}

const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['workloads'],
  properties: {
    $comment: { type: 'string' },
    $schema: { type: 'string' },
    workloads: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['command'],
        properties: {
          command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          env: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
          namespace: { type: 'string', default: 'default' },
          appPort: port,
          inboundPort: port,
          outboundPort: port,
          adminPort: port,
        },
      },
    },
    try: {
      type: 'array',
      default: [],
      items: { type: 'object', additionalProperties: false, required: ['say', 'command'], properties: { say: { type: 'string' }, command: { type: 'string' } } },
    },
    traffic: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'url'],
        properties: { from: { type: 'string' }, url: { type: 'string', pattern: '^http://' }, method: { enum: ['GET', 'POST'], default: 'GET' }, body: { type: 'object' } },
      },
    },
    controlPlane: { type: 'object', additionalProperties: false, default: {}, properties: { grpcPort: port, adminPort: port } },
  },
} as const;

const validate = new Ajv({ allErrors: true, useDefaults: true }).compile(schema);

function manifestError(file: string, problems: string[]): Error {
  return Object.assign(new Error(`invalid ${file}:\n${problems.map((p) => `  ${p}`).join('\n')}`), { exitCode: 2 });
}

export async function loadManifest(dir: string): Promise<Manifest> {
  const file = join(dir, MANIFEST_FILE);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `no ${MANIFEST_FILE} in ${dir} (see deploy/README.md)` : (error as Error).message;
    throw manifestError(file, [reason]);
  }
  if (!validate(value)) {
    throw manifestError(file, (validate.errors ?? []).map((e) => `${e.instancePath.slice(1).replaceAll('/', '.') || '(root)'}: ${e.message ?? e.keyword}`));
  }
  const manifest = value as unknown as Manifest;
  const problems = manifest.traffic.filter((t) => !Object.hasOwn(manifest.workloads, t.from)).map((t) => `traffic: '${t.from}' is not a workload of this manifest`);
  if (problems.length > 0) throw manifestError(file, problems);
  return manifest;
}

/** `${NAME}` -> env[NAME]; an unknown name is an error (a typo must not run a wrong command). */
export function expandCommand(command: readonly string[], env: Readonly<Record<string, string | undefined>>, where: string): string[] {
  return command.map((arg) =>
    arg.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const value = env[name];
      if (value === undefined) throw manifestError(MANIFEST_FILE, [`${where}: \${${name}} is not set`]);
      return value;
    }),
  );
}
