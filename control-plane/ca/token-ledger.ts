// Which single-use bootstrap tokens were used: their `jti`, kept until the token expires. A
// control plane with its own state keeps the ledger in memory and in `<stateDir>/used-tokens.json`
// (so a restart does not make a used token good again); replicas on an etcd store share it as one
// key per token under /weft/ca/used-tokens/, created in a create-if-absent transaction (exactly
// one replica wins a race) and bound to a lease that ends when the token expires (pruned by etcd).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';

export const USED_TOKENS_FILE = 'used-tokens.json';
export const USED_TOKENS_PREFIX = '/weft/ca/used-tokens/';
/** Kept this much past `exp`: replicas accept a token that long past it (clock tolerance). */
const KEEP_PAST_EXPIRY_MS = 60_000;

export interface TokenLedger {
  /** Records the first use of token `jti`; false when it was used before. */
  claim(jti: string, expiresAt: Date): Promise<boolean>;
  close(): void;
}

/** One process: in memory, saved to `file` after each use when given. */
export class LocalTokenLedger implements TokenLedger {
  readonly #used: Map<string, number>;
  readonly #file: string | undefined;
  #saving: Promise<void> = Promise.resolve();

  private constructor(used: Map<string, number>, file: string | undefined) {
    this.#used = used;
    this.#file = file;
  }

  static inMemory(): LocalTokenLedger {
    return new LocalTokenLedger(new Map(), undefined);
  }

  /** The ledger saved in `dir`; a missing or unreadable file is an empty ledger. */
  static async open(dir: string): Promise<LocalTokenLedger> {
    const file = join(dir, USED_TOKENS_FILE);
    const used = new Map<string, number>();
    try {
      const saved = JSON.parse(await readFile(file, 'utf8')) as unknown;
      if (typeof saved === 'object' && saved !== null && !Array.isArray(saved)) {
        for (const [jti, until] of Object.entries(saved)) if (typeof until === 'number') used.set(jti, until);
      }
    } catch {
      // First start, or a damaged file: it only ever lists tokens that are expiring anyway.
    }
    return new LocalTokenLedger(used, file);
  }

  async claim(jti: string, expiresAt: Date): Promise<boolean> {
    const now = Date.now();
    for (const [used, until] of this.#used) if (until < now) this.#used.delete(used);
    if (this.#used.has(jti)) return false;
    this.#used.set(jti, expiresAt.getTime() + KEEP_PAST_EXPIRY_MS);
    if (this.#file !== undefined) await this.#save(this.#file);
    return true;
  }

  close(): void {}

  /** Saves are chained, each writing the whole current ledger, so the last one on disk is the latest. */
  #save(file: string): Promise<void> {
    const write = async () => {
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(Object.fromEntries(this.#used)), { mode: 0o600 });
      await rename(temporary, file);
    };
    this.#saving = this.#saving.then(write, write);
    return this.#saving;
  }
}

/** Replicas sharing an etcd store. */
export class EtcdTokenLedger implements TokenLedger {
  readonly #client: Etcd3;

  constructor(endpoints: readonly string[]) {
    this.#client = new Etcd3({ hosts: [...endpoints], dialTimeout: 3000 });
  }

  async claim(jti: string, expiresAt: Date): Promise<boolean> {
    const key = `${USED_TOKENS_PREFIX}${jti}`;
    const ttlSeconds = Math.max(1, Math.ceil((expiresAt.getTime() + KEEP_PAST_EXPIRY_MS - Date.now()) / 1000));
    const lease = this.#client.lease(ttlSeconds, { autoKeepAlive: false });
    try {
      const leaseId = await lease.grant();
      const result = await this.#client
        .if(key, 'Create', '==', 0)
        .then(this.#client.put(key).value(new Date().toISOString()).lease(leaseId))
        .commit();
      if (!result.succeeded) await lease.revoke().catch(() => undefined);
      return result.succeeded;
    } finally {
      lease.release();
    }
  }

  close(): void {
    this.#client.close();
  }
}
