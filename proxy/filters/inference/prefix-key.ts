// The key that places a prompt by prefix affinity: its leading `blocks` blocks of `blockChars`
// characters, chain-hashed with the model and the cache salt in the first hash (as model
// servers key their prefix caches), so every caller sidecar derives the same key for the same
// prefix, and prefixes the engine keeps apart (another model, another salt: another tenant under
// KV isolation) never share one.
import { createHash } from 'node:crypto';

export interface PrefixKeyParams {
  readonly blockChars: number;
  readonly blocks: number;
}

/** undefined when the prompt is shorter than the keyed blocks (no affinity to keep). */
export function prefixKey(prompt: string, params: PrefixKeyParams, model: string, salt: string): string | undefined {
  if (prompt.length < params.blockChars * params.blocks) return undefined;
  let chain = createHash('sha256').update(`${salt}\u0000${model}`).digest();
  for (let block = 0; block < params.blocks; block += 1) {
    chain = createHash('sha256').update(chain).update(prompt.slice(block * params.blockChars, (block + 1) * params.blockChars)).digest();
  }
  return chain.toString('base64url');
}
