// Where the endpoints of a service come from: the sidecars connected to this replica (local), and,
// with several replicas, the ones the others publish (remote). The directory takes the local set
// and gives back the merged index; `changed` fires when the remote part changes. The single
// process directory has no remote part (file store); the etcd one is etcd-endpoint-directory.ts.
import { Ajv } from 'ajv';
import type { HostPort } from '../api/resource-types.js';
import type { EndpointIndex } from './snapshot-builder.js';

/** The inbound address a connected sidecar announced for its workload. */
export interface AnnouncedEndpoint {
  readonly namespace: string;
  readonly workload: string;
  readonly address: string;
  readonly port: number;
}

export interface EndpointDirectory {
  /** Starts following other replicas; `changed` is called when their endpoints change. */
  start(changed: () => void): Promise<void>;
  /** The endpoints of this replica's sidecars, given after every change of them. */
  publish(local: readonly AnnouncedEndpoint[]): void;
  /** Local and remote endpoints by `namespace/workload`. */
  index(local: readonly AnnouncedEndpoint[]): EndpointIndex;
  close(): Promise<void>;
}

/** One replica: the endpoints are those of its own sidecars. */
export class LocalEndpointDirectory implements EndpointDirectory {
  async start(): Promise<void> {}
  publish(): void {}
  index(local: readonly AnnouncedEndpoint[]): EndpointIndex {
    return mergeEndpoints(local, []);
  }
  async close(): Promise<void> {}
}

/** Every endpoint once, by `namespace/workload` (snapshot-builder.ts orders them). */
export function mergeEndpoints(local: readonly AnnouncedEndpoint[], remote: Iterable<readonly AnnouncedEndpoint[]>): EndpointIndex {
  const byWorkload = new Map<string, Map<string, HostPort>>();
  for (const list of [local, ...remote]) {
    for (const { namespace, workload, address, port } of list) {
      const key = `${namespace}/${workload}`;
      let addresses = byWorkload.get(key);
      if (addresses === undefined) byWorkload.set(key, (addresses = new Map()));
      addresses.set(`${address}:${port}`, { host: address, port });
    }
  }
  return new Map([...byWorkload].map(([key, addresses]) => [key, [...addresses.values()]]));
}

/** The published document: the list in a stable order, so an unchanged set is the same text. */
export function encodeEndpoints(local: readonly AnnouncedEndpoint[]): string {
  const sorted = [...local].sort((a, b) => `${a.namespace}/${a.workload}/${a.address}/${a.port}`.localeCompare(`${b.namespace}/${b.workload}/${b.address}/${b.port}`));
  return JSON.stringify(sorted.map(({ namespace, workload, address, port }) => ({ namespace, workload, address, port })));
}

const NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const validate = new Ajv({ allErrors: true, strict: true }).compile<AnnouncedEndpoint[]>({
  type: 'array',
  maxItems: 100_000,
  items: {
    type: 'object',
    required: ['namespace', 'workload', 'address', 'port'],
    additionalProperties: false,
    properties: {
      namespace: { type: 'string', maxLength: 63, pattern: NAME },
      workload: { type: 'string', maxLength: 63, pattern: NAME },
      // What sidecar-identity.ts accepts as an inbound host: a name or an IP (IPv6 unbracketed).
      address: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[0-9A-Za-z.:-]+$' },
      port: { type: 'integer', minimum: 1, maximum: 65535 },
    },
  },
});

/** A document another replica published (untrusted): its endpoints, or why it is refused. */
export function parseEndpoints(text: string): AnnouncedEndpoint[] | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (validate(value)) return value;
  return (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
}
