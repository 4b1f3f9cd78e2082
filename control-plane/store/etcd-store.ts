// `--store etcd:URL[,URL...]`: resources live in etcd v3 under `/weft/resources/<Kind>/<ns>/<name>`,
// one JSON document per key (Rego inlined). Every control-plane replica watches the prefix and
// serves the same revisions, numbered by etcd's own revision so replicas agree: the revision of
// the last resource change, which every change marks by writing `/weft/resources-revision` (other
// keys, the CA and the replicas' endpoints, advance etcd's revision too). A change is one
// etcd transaction that succeeds only if none of the keys it touches changed since this replica
// read them, so two replicas cannot interleave half of two changes. What is read from etcd is
// decoded and validated like any other input.
import { Etcd3, type Namespace, type Watcher } from 'etcd3';
import { decodeResource, encodeResource } from '../api/resource-codec.js';
import { resourceKey } from '../api/resource-types.js';
import { ControlPlaneError, type Problem } from '../errors.js';
import type { LoadedResource } from '../resources/document-loader.js';
import type { PolicyChecker } from '../resources/policy-check.js';
import type { ResourceChange } from './change-plan.js';
import { ValidatingStore, type StoreBackend, type StoredState } from './validating-store.js';

const PREFIX = '/weft/';
const RESOURCES = 'resources/';
const CHANGE_MARKER = 'resources-revision';
/** Watches reconnect by themselves; a periodic read covers anything a reconnect skipped. */
const RESCAN_INTERVAL_MS = 5000;

interface StoredValue {
  readonly document: unknown;
  readonly source?: { readonly file?: unknown; readonly line?: unknown };
}

function keyOf(resourceKeyText: string): string {
  return `${RESOURCES}${resourceKeyText}`;
}

class EtcdKeyspace implements StoreBackend {
  readonly name: string;
  readonly #client: Etcd3;
  readonly #keys: Namespace;
  /** mod_revision of each resource key as last read, for the transaction's compare clauses. */
  #modRevisions = new Map<string, string>();
  #watcher: Watcher | undefined;
  #rescan: NodeJS.Timeout | undefined;

  constructor(endpoints: readonly string[]) {
    this.name = `etcd:${endpoints.join(',')}`;
    this.#client = new Etcd3({ hosts: [...endpoints], dialTimeout: 3000 });
    this.#keys = this.#client.namespace(PREFIX);
  }

  async read(): Promise<StoredState> {
    const response = await this.#keys.getAll().prefix(RESOURCES).exec();
    const resources: LoadedResource[] = [];
    const problems: Problem[] = [];
    const modRevisions = new Map<string, string>();
    for (const kv of response.kvs) {
      // Keys come back relative to the namespace (without /weft/).
      const key = kv.key.toString('utf8');
      const file = `etcd:${PREFIX}${key}`;
      let stored: StoredValue;
      try {
        stored = JSON.parse(kv.value.toString('utf8')) as StoredValue;
      } catch {
        problems.push({ code: 'RESOURCE_SCHEMA_INVALID', file, message: 'the stored value is not JSON' });
        continue;
      }
      const decoded = decodeResource(stored?.document);
      if (!decoded.ok) {
        problems.push(...decoded.issues.map((issue) => ({ code: 'RESOURCE_SCHEMA_INVALID' as const, file, path: issue.path, message: issue.message })));
        continue;
      }
      if (keyOf(resourceKey(decoded.resource)) !== key) {
        problems.push({ code: 'RESOURCE_SCHEMA_INVALID', file, message: `the key does not name the resource it holds (${resourceKey(decoded.resource)})` });
        continue;
      }
      modRevisions.set(resourceKey(decoded.resource), kv.mod_revision);
      const origin = typeof stored.source?.file === 'string' ? stored.source.file : file;
      const line = typeof stored.source?.line === 'number' ? stored.source.line : 1;
      resources.push({ resource: decoded.resource, source: { file: origin, document: 0, line } });
    }
    this.#modRevisions = modRevisions;
    const fingerprint = response.kvs.map((kv) => `${kv.key.toString('utf8')}@${kv.mod_revision}`).join('\n');
    return { fingerprint, loaded: { resources, problems }, revision: await this.#lastChange(response.header.revision, response.kvs.map((kv) => Number(kv.mod_revision))) };
  }

  /** The etcd revision of the last resource change as of `at`; resources written before the marker existed count by their own. */
  async #lastChange(at: string, modRevisions: readonly number[]): Promise<number> {
    const marker = await this.#keys.get(CHANGE_MARKER).revision(at).exec();
    return [...modRevisions, ...marker.kvs.map((kv) => Number(kv.mod_revision))].reduce((a, b) => Math.max(a, b), 1);
  }

  async write(changes: readonly ResourceChange[]): Promise<void> {
    const [first, ...rest] = changes;
    if (first === undefined) return;
    // Each key must be as this replica last read it: absent for a creation, at the same
    // mod_revision otherwise.
    const guard = (change: ResourceChange): [string, 'Create' | 'Mod', '==', number | string] => {
      const modRevision = this.#modRevisions.get(change.key);
      return modRevision === undefined ? [keyOf(change.key), 'Create', '==', 0] : [keyOf(change.key), 'Mod', '==', modRevision];
    };
    let transaction = this.#keys.if(...guard(first));
    for (const change of rest) transaction = transaction.and(...guard(change));
    const operations = changes.map((change) =>
      change.applied === undefined
        ? this.#keys.delete().key(keyOf(change.key))
        : this.#keys.put(keyOf(change.key)).value(
            JSON.stringify({ document: encodeResource(change.applied.resource), source: { file: change.applied.source.file, line: change.applied.source.line } }),
          ),
    );
    const result = await transaction.then(...operations, this.#keys.put(CHANGE_MARKER).value('')).commit();
    if (!result.succeeded) throw new ControlPlaneError('STORE_CONFLICT', 'another control-plane replica changed some of these resources first; apply again');
  }

  async watch(changed: () => void): Promise<void> {
    this.#watcher = await this.#keys.watch().prefix(RESOURCES).create();
    this.#watcher.on('put', changed).on('delete', changed).on('connected', changed).on('error', () => undefined);
    this.#rescan = setInterval(changed, RESCAN_INTERVAL_MS).unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#rescan);
    await this.#watcher?.cancel().catch(() => undefined);
    this.#client.close();
  }
}

export class EtcdStore extends ValidatingStore {
  constructor(endpoints: readonly string[], policies: PolicyChecker) {
    super(new EtcdKeyspace(endpoints), policies);
  }
}
