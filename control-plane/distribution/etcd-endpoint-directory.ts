// Endpoints shared by control-plane replicas through etcd. Each replica publishes the endpoints of
// its sidecars as one document under `/weft/endpoints/<replica-id>` (random per start), attached
// to a lease it keeps alive: a replica that dies stops renewing it and its endpoints vanish after
// the TTL (its sidecars have reconnected to another replica by then); a clean stop revokes it.
// Each replica watches the prefix and merges the others' documents with its own sidecars.
import { randomBytes } from 'node:crypto';
import { Etcd3, type Lease, type Namespace, type Watcher } from 'etcd3';
import { mergeEndpoints, encodeEndpoints, parseEndpoints, type AnnouncedEndpoint, type EndpointDirectory } from './endpoint-directory.js';
import type { EndpointIndex } from './snapshot-builder.js';

export const ENDPOINTS_PREFIX = '/weft/endpoints/';
export const ENDPOINT_LEASE_TTL_S = 10;
/** Writes are coalesced: at most one every 250 ms, one a second while etcd fails. */
const WRITE_INTERVAL_MS = 250;
const RETRY_INTERVAL_MS = 1000;
/** Watches reconnect by themselves; a periodic read covers anything a reconnect skipped. */
const RESCAN_INTERVAL_MS = 5000;
const REVOKE_DEADLINE_MS = 2000;

export class EtcdEndpointDirectory implements EndpointDirectory {
  readonly replicaId = randomBytes(8).toString('hex');
  readonly #client: Etcd3;
  readonly #keys: Namespace;
  readonly #log: (line: string) => void;
  #lease: Lease | undefined;
  #watcher: Watcher | undefined;
  #rescan: NodeJS.Timeout | undefined;
  #changed: () => void = () => undefined;
  /** Remote documents by key, as last read (the text, to see what changed). */
  #remote = new Map<string, { text: string; endpoints: AnnouncedEndpoint[] }>();
  #reading: Promise<void> | undefined;
  #rereadWanted = false;
  #wanted: string | undefined;
  #written: string | undefined;
  #writeTimer: NodeJS.Timeout | undefined;
  #writing = false;
  #lastWriteAt = 0;
  #closed = false;

  constructor(endpoints: readonly string[], log: (line: string) => void) {
    this.#client = new Etcd3({ hosts: [...endpoints], dialTimeout: 3000 });
    this.#keys = this.#client.namespace(ENDPOINTS_PREFIX);
    this.#log = log;
  }

  async start(changed: () => void): Promise<void> {
    this.#changed = changed;
    await this.#read();
    const reread = () => void this.#reread();
    this.#watcher = await this.#keys.watch().prefix('').create();
    this.#watcher.on('put', reread).on('delete', reread).on('connected', reread).on('error', () => undefined);
    this.#rescan = setInterval(reread, RESCAN_INTERVAL_MS).unref();
  }

  publish(local: readonly AnnouncedEndpoint[]): void {
    this.#wanted = encodeEndpoints(local);
    this.#scheduleWrite(WRITE_INTERVAL_MS);
  }

  index(local: readonly AnnouncedEndpoint[]): EndpointIndex {
    return mergeEndpoints(local, [...this.#remote.values()].map((r) => r.endpoints));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#rescan);
    clearTimeout(this.#writeTimer);
    await this.#watcher?.cancel().catch(() => undefined);
    // Revoking deletes this replica's document at once: its sidecars are gone from it. Bounded,
    // so that a stop with etcd unreachable still exits (the TTL then does the same).
    await this.#lease?.revoke({ deadline: Date.now() + REVOKE_DEADLINE_MS }).catch(() => undefined);
    this.#client.close();
  }

  /** A lease lost (etcd unreachable longer than the TTL) is replaced at the next write, which writes the document again. */
  #leaseForWrite(): Lease {
    if (this.#lease !== undefined) return this.#lease;
    const lease = this.#keys.lease(ENDPOINT_LEASE_TTL_S);
    lease.on('lost', (error) => {
      if (this.#closed || this.#lease !== lease) return;
      this.#log(`control-plane: the etcd lease of this replica's endpoints was lost (${error.message}); publishing them again`);
      this.#lease = undefined;
      this.#written = undefined;
      this.#scheduleWrite(RETRY_INTERVAL_MS);
    });
    this.#lease = lease;
    return lease;
  }

  #scheduleWrite(intervalMs: number): void {
    if (this.#closed || this.#writeTimer !== undefined || this.#writing) return;
    const delay = Math.max(0, this.#lastWriteAt + intervalMs - Date.now());
    this.#writeTimer = setTimeout(() => void this.#write(), delay);
  }

  async #write(): Promise<void> {
    this.#writeTimer = undefined;
    const wanted = this.#wanted;
    if (wanted === undefined || wanted === this.#written) return;
    this.#writing = true;
    this.#lastWriteAt = Date.now();
    let failed = false;
    try {
      await this.#leaseForWrite().put(this.replicaId).value(wanted).exec();
      this.#written = wanted;
    } catch (error) {
      failed = true;
      this.#log(`control-plane: cannot publish this replica's endpoints in etcd (${(error as Error).message}); retrying`);
    } finally {
      this.#writing = false;
    }
    if (this.#wanted !== this.#written) this.#scheduleWrite(failed ? RETRY_INTERVAL_MS : WRITE_INTERVAL_MS);
  }

  /** Reads one at a time; events during a read ask for one more. */
  async #reread(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#rereadWanted = true;
      return;
    }
    this.#reading = this.#read().catch((error: unknown) => this.#log(`control-plane: cannot read the endpoints of other replicas from etcd (${(error as Error).message})`));
    await this.#reading;
    this.#reading = undefined;
    if (this.#rereadWanted && !this.#closed) {
      this.#rereadWanted = false;
      await this.#reread();
    }
  }

  async #read(): Promise<void> {
    const response = await this.#keys.getAll().prefix('').exec();
    const remote = new Map<string, { text: string; endpoints: AnnouncedEndpoint[] }>();
    for (const kv of response.kvs) {
      const key = kv.key.toString('utf8');
      if (key === this.replicaId) continue;
      const text = kv.value.toString('utf8');
      const known = this.#remote.get(key);
      if (known?.text === text) {
        remote.set(key, known);
        continue;
      }
      const endpoints = parseEndpoints(text);
      // A malformed document counts as no endpoints, and is logged once per version of it.
      if (typeof endpoints === 'string') this.#log(`control-plane: ignored the endpoints at ${ENDPOINTS_PREFIX}${key.slice(0, 64)} in etcd: ${endpoints}`);
      remote.set(key, { text, endpoints: typeof endpoints === 'string' ? [] : endpoints });
    }
    const same = remote.size === this.#remote.size && [...remote].every(([key, value]) => this.#remote.get(key)?.text === value.text);
    this.#remote = remote;
    if (!same) this.#changed();
  }
}
