// `--store kubernetes:[KUBECONFIG]`: resources are weft custom resources in the Kubernetes API
// (deploy/kubernetes/crds/), read with the official client (@kubernetes/client-node), in the
// cluster the control plane runs in (its service account) or the one a kubeconfig names. Every
// replica lists each kind, watches from the list's resourceVersion, and re-lists when a watch
// ends or expires (410), or every `resyncMs` (default 5 s) whatever happens. Writes are
// optimistic: a replace or delete carries the resourceVersion this replica read, so a change made
// meanwhile by someone else is a 409, reported as STORE_CONFLICT. A 409 whose object still has the
// spec generation this replica read was moved only by a status write (its own or another
// controller's): the write is tried again once over the object's current resourceVersion. The API has no transaction over several
// objects: a change of several resources is written one object at a time, and if one write
// fails the objects already written stay; the next read validates the stored set whole and
// refuses it (keeping the running revision) if that partial state is not valid.
// What the API returns is decoded and validated like any other input. The control plane reports
// on each object's status subresource whether it accepted it and in which revision.
import type { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { CRD_GROUP, CRD_VERSION, KIND_BY_PLURAL, crdPlural, customResourcePath } from '../api/custom-resources.js';
import { decodeResource, encodeResource } from '../api/resource-codec.js';
import { API_VERSION, RESOURCE_KINDS, resourceKey, type ResourceKind } from '../api/resource-types.js';
import { loadKubeConfig, type KubernetesTarget } from '../cli/kube-config.js';
import { ControlPlaneError, type Problem } from '../errors.js';
import type { LoadedResource } from '../resources/document-loader.js';
import type { PolicyChecker } from '../resources/policy-check.js';
import type { Revision } from '../resources/revision.js';
import type { ResourceChange } from './change-plan.js';
import type { Refusal } from './resource-store.js';
import { ValidatingStore, type StoreBackend, type StoredState } from './validating-store.js';

const DEFAULT_RESYNC_MS = 5000;

export interface KubernetesStoreOptions {
  /** How often every kind is listed again whatever the watches said. */
  readonly resyncMs?: number;
}
const REWATCH_DELAY_MS = 1000;

interface ObjectMeta {
  readonly name?: unknown;
  readonly namespace?: unknown;
  readonly labels?: unknown;
  readonly resourceVersion?: unknown;
  readonly generation?: unknown;
  readonly uid?: unknown;
}

interface CustomObject {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: ObjectMeta;
  readonly spec?: unknown;
}

/** The `file` of a problem about one object: its API path. */
function objectFile(kind: ResourceKind, namespace: string, name: string): string {
  return `kubernetes:${customResourcePath(kind, { namespace, name })}`;
}

function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The accepted/refused condition the control plane writes on an object's status. */
function acceptedStatus(revision: number, problems: readonly Problem[]): Record<string, unknown> {
  const accepted = problems.length === 0;
  return {
    observedRevision: revision,
    conditions: [
      {
        type: 'Accepted',
        status: accepted ? 'True' : 'False',
        reason: accepted ? 'Valid' : 'Invalid',
        message: accepted ? `in control-plane revision ${revision}` : problems.map((p) => `${p.path === undefined ? '' : `${p.path}: `}${p.message}`).join('; '),
      },
    ],
  };
}

class KubernetesApi implements StoreBackend {
  readonly name: string;
  readonly #config: KubeConfig;
  readonly #api: CustomObjectsApi;
  readonly #watchModule: typeof import('@kubernetes/client-node').Watch;
  /** resourceVersion of each resource's object as last read, for optimistic writes. */
  #resourceVersions = new Map<string, string>();
  /** The spec generation of each resource's object as last read. */
  #generations = new Map<string, unknown>();
  readonly #resyncMs: number;
  /** The list's resourceVersion per kind: where its watch starts. */
  #listVersions = new Map<ResourceKind, string>();
  #watches: AbortController[] = [];
  #timers = new Set<NodeJS.Timeout>();
  /** The status last written per object path, so an unchanged one is not written again. */
  #statuses = new Map<string, string>();
  #statusWrites: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(name: string, config: KubeConfig, api: CustomObjectsApi, watch: typeof import('@kubernetes/client-node').Watch, resyncMs: number) {
    this.name = name;
    this.#resyncMs = resyncMs;
    this.#config = config;
    this.#api = api;
    this.#watchModule = watch;
  }

  async read(): Promise<StoredState> {
    const resources: LoadedResource[] = [];
    const problems: Problem[] = [];
    const resourceVersions = new Map<string, string>();
    const generations = new Map<string, unknown>();
    const fingerprint: string[] = [];
    for (const kind of RESOURCE_KINDS) {
      let list: { metadata?: { resourceVersion?: string }; items?: CustomObject[] };
      try {
        list = await this.#api.listClusterCustomObject({ group: CRD_GROUP, version: CRD_VERSION, plural: crdPlural(kind) });
      } catch (error) {
        if (statusCode(error) === 404) throw new Error(`the CustomResourceDefinition ${crdPlural(kind)}.${CRD_GROUP} is not installed (kubectl apply -k deploy/kubernetes/crds)`);
        throw error;
      }
      if (typeof list.metadata?.resourceVersion === 'string') this.#listVersions.set(kind, list.metadata.resourceVersion);
      for (const item of list.items ?? []) {
        const metadata = item.metadata ?? {};
        const name = typeof metadata.name === 'string' ? metadata.name : '';
        const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
        const file = objectFile(kind, namespace, name);
        // Only what a weft document holds: the API's own fields (uid, managedFields, status...) are not the resource.
        const document = {
          apiVersion: item.apiVersion,
          kind: item.kind,
          metadata: { name: metadata.name, namespace: metadata.namespace, ...(metadata.labels === undefined ? {} : { labels: metadata.labels }) },
          spec: item.spec,
        };
        if (document.apiVersion !== API_VERSION || document.kind !== kind) {
          problems.push({ code: 'RESOURCE_SCHEMA_INVALID', file, message: `the API listed ${String(document.apiVersion)} ${String(document.kind)} as ${API_VERSION} ${kind}` });
          continue;
        }
        const decoded = decodeResource(document);
        if (!decoded.ok) {
          problems.push(...decoded.issues.map((issue) => ({ code: 'RESOURCE_SCHEMA_INVALID' as const, file, path: issue.path, message: issue.message })));
          continue;
        }
        const key = resourceKey(decoded.resource);
        if (typeof metadata.resourceVersion === 'string') resourceVersions.set(key, metadata.resourceVersion);
        generations.set(key, metadata.generation);
        // The spec's generation, not the resourceVersion: status writes must not look like changes.
        fingerprint.push(`${key}@${String(metadata.uid)}/${String(metadata.generation ?? metadata.resourceVersion)}`);
        resources.push({ resource: decoded.resource, source: { file, document: 0, line: 1 } });
      }
    }
    this.#resourceVersions = resourceVersions;
    this.#generations = generations;
    return { fingerprint: fingerprint.sort().join('\n'), loaded: { resources, problems } };
  }

  async write(changes: readonly ResourceChange[]): Promise<void> {
    // A status write in flight moves resourceVersions this write must carry.
    await this.#statusWrites;
    for (const change of changes) {
      const resourceVersion = this.#resourceVersions.get(change.key);
      try {
        await this.#writeOne(change, resourceVersion).catch(async (error: unknown) => {
          const current = statusCode(error) === 409 && resourceVersion !== undefined ? await this.#unchangedSpecVersion(change.key) : undefined;
          if (current === undefined) throw error;
          await this.#writeOne(change, current);
        });
      } catch (error) {
        const code = statusCode(error);
        if (code === 409 || code === 404) {
          throw new ControlPlaneError('STORE_CONFLICT', `${change.key} changed in the Kubernetes API since this replica read it (HTTP ${code}); apply again`);
        }
        throw error;
      }
    }
  }

  #target(key: string): { group: string; version: string; namespace: string; plural: string; name: string } {
    const [kind, namespace, name] = key.split('/') as [ResourceKind, string, string];
    return { group: CRD_GROUP, version: CRD_VERSION, namespace, plural: crdPlural(kind), name };
  }

  async #writeOne(change: ResourceChange, resourceVersion: string | undefined): Promise<void> {
    const { name, ...target } = this.#target(change.key);
    if (change.applied === undefined) {
      await this.#api.deleteNamespacedCustomObject({ ...target, name, body: { preconditions: { resourceVersion } } });
      return;
    }
    const document = encodeResource(change.applied.resource) as { metadata: Record<string, unknown> };
    const body = { ...document, metadata: { ...document.metadata, ...(resourceVersion === undefined ? {} : { resourceVersion }) } };
    if (resourceVersion === undefined) await this.#api.createNamespacedCustomObject({ ...target, body });
    else await this.#api.replaceNamespacedCustomObject({ ...target, name, body });
  }

  /** The object's resourceVersion when its spec generation is still the one this replica read. */
  async #unchangedSpecVersion(key: string): Promise<string | undefined> {
    const read = this.#generations.get(key);
    if (read === undefined) return undefined;
    const object = (await this.#api.getNamespacedCustomObject(this.#target(key))) as CustomObject;
    const version = object?.metadata?.resourceVersion;
    return object?.metadata?.generation === read && typeof version === 'string' ? version : undefined;
  }

  async watch(changed: () => void): Promise<void> {
    for (const kind of RESOURCE_KINDS) await this.#watchKind(kind, changed);
    const rescan = setInterval(changed, this.#resyncMs).unref();
    this.#timers.add(rescan);
  }

  async #watchKind(kind: ResourceKind, changed: () => void): Promise<void> {
    if (this.#closed) return;
    const restart = () => {
      if (this.#closed) return;
      // Whatever ended the watch (expiry, a dropped connection), a re-list catches up.
      changed();
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#watchKind(kind, changed).catch(restart);
      }, REWATCH_DELAY_MS).unref();
      this.#timers.add(timer);
    };
    const resourceVersion = this.#listVersions.get(kind);
    const controller = await new this.#watchModule(this.#config).watch(
      customResourcePath(kind),
      { allowWatchBookmarks: true, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
      (phase, object: CustomObject) => {
        const version = object?.metadata?.resourceVersion;
        if (typeof version === 'string' && phase !== 'ERROR') this.#listVersions.set(kind, version);
        if (phase === 'ERROR') {
          this.#listVersions.delete(kind);
          controller.abort();
          return;
        }
        if (phase !== 'BOOKMARK') changed();
      },
      () => {
        this.#watches = this.#watches.filter((c) => c !== controller);
        restart();
      },
    );
    this.#watches.push(controller);
  }

  settled(revision: Revision, refusal: Refusal | undefined): void {
    const wanted = new Map<string, Record<string, unknown>>();
    for (const { source } of revision.resources.values()) wanted.set(source.file, acceptedStatus(revision.number, []));
    const refused = new Map<string, Problem[]>();
    for (const problem of refusal?.problems ?? []) refused.set(problem.file, [...(refused.get(problem.file) ?? []), problem]);
    for (const [file, problems] of refused) if (file.startsWith('kubernetes:')) wanted.set(file, acceptedStatus(revision.number, problems));
    for (const [file, status] of wanted) {
      const text = JSON.stringify(status);
      if (this.#statuses.get(file) === text) continue;
      this.#statuses.set(file, text);
      this.#statusWrites = this.#statusWrites.then(() => this.#writeStatus(file, status)).catch(() => this.#statuses.delete(file));
    }
  }

  async #writeStatus(file: string, status: Record<string, unknown>): Promise<void> {
    const [, , , , , namespace, plural, name] = file.slice('kubernetes:'.length).split('/').map(decodeURIComponent);
    const kind = KIND_BY_PLURAL.get(plural ?? '');
    if (kind === undefined || namespace === undefined || name === undefined) return;
    const key = `${kind}/${namespace}/${name}`;
    const resourceVersion = this.#resourceVersions.get(key);
    // Only over the object as read: a spec changed meanwhile gets its status after its own read.
    const updated: CustomObject = await this.#api.replaceNamespacedCustomObjectStatus({
      group: CRD_GROUP,
      version: CRD_VERSION,
      namespace,
      plural: plural!,
      name,
      body: { apiVersion: API_VERSION, kind, metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) }, status },
    });
    // A status write moves the object's resourceVersion; this replica's next write must carry the new one.
    const version = updated?.metadata?.resourceVersion;
    if (typeof version === 'string' && this.#resourceVersions.get(key) === resourceVersion) this.#resourceVersions.set(key, version);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    for (const controller of this.#watches) controller.abort();
    await this.#statusWrites;
  }
}

export async function kubernetesStore(target: KubernetesTarget, policies: PolicyChecker, options: KubernetesStoreOptions = {}): Promise<KubernetesStore> {
  return new KubernetesStore(await loadKubeConfig(target), policies, await import('@kubernetes/client-node'), options);
}

export class KubernetesStore extends ValidatingStore {
  constructor(config: KubeConfig, policies: PolicyChecker, client: typeof import('@kubernetes/client-node'), options: KubernetesStoreOptions = {}) {
    const server = config.getCurrentCluster()?.server ?? 'no cluster';
    const api = new KubernetesApi(`kubernetes:${server}`, config, config.makeApiClient(client.CustomObjectsApi), client.Watch, options.resyncMs ?? DEFAULT_RESYNC_MS);
    super(api, policies);
  }
}
