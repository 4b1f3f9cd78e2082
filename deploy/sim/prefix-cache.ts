// The engine's prefix cache: an LRU of KV block hashes. A prompt's blocks are chain-hashed (each
// block's hash covers every block before it, and the first covers the cache salt and the model
// or LoRA adapter), as vLLM's automatic prefix caching keys them, so a block hits only when the
// whole prefix up to it was computed before under the same salt.
import { createHash } from 'node:crypto';

/** Hashes of the prompt's full blocks of `blockChars` characters, in order. */
export function promptBlockHashes(prompt: string, blockChars: number, salt: string, model: string): string[] {
  const hashes: string[] = [];
  let parent = `${salt}\u0000${model}`;
  for (let start = 0; start + blockChars <= prompt.length; start += blockChars) {
    parent = createHash('sha256').update(parent).update('\u0000').update(prompt.slice(start, start + blockChars)).digest('base64url');
    hashes.push(parent);
  }
  return hashes;
}

export class PrefixCache {
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  private readonly blocks = new Map<string, true>();

  constructor(private readonly capacityBlocks: number) {}

  /** How many leading blocks are cached; those are marked recently used. */
  lookup(hashes: readonly string[]): number {
    let hits = 0;
    for (const hash of hashes) {
      if (!this.blocks.has(hash)) break;
      this.blocks.delete(hash);
      this.blocks.set(hash, true);
      hits += 1;
    }
    return hits;
  }

  insert(hashes: readonly string[]): void {
    for (const hash of hashes) {
      this.blocks.delete(hash);
      this.blocks.set(hash, true);
    }
    for (const oldest of this.blocks.keys()) {
      if (this.blocks.size <= this.capacityBlocks) break;
      this.blocks.delete(oldest);
    }
  }

  get size(): number {
    return this.blocks.size;
  }
}
