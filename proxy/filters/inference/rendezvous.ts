// Bounded-load rendezvous hashing: every endpoint gets a pseudo-random weight from (key,
// endpoint id); the key's home is the heaviest endpoint whose load is under the bound, so callers
// that see the same endpoints agree on it without talking, and a hot key spills to its next
// endpoints in the same order everywhere once its home is loaded past the bound (Mirrokni,
// Thorup, Zadimoghaddam: consistent hashing with bounded loads).

/** A 32-bit FNV-1a of `key` then `id`, finished with murmur3's avalanche. */
export function rendezvousWeight(key: string, id: string): number {
  let hash = 0x811c9dc5;
  const text = `${key}\u0000${id}`;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

export interface RendezvousCandidate {
  readonly id: string;
  /** Any non-negative measure of load; Infinity never takes the key. */
  readonly load: number;
}

/**
 * The index of the key's home among `candidates`: the highest weight whose load is below
 * ceil(bound x (total load + 1) / n). undefined when every candidate is past it (or saturated).
 */
export function boundedRendezvous(key: string, candidates: readonly RendezvousCandidate[], bound: number): number | undefined {
  let total = 0;
  for (const candidate of candidates) if (Number.isFinite(candidate.load)) total += candidate.load;
  const capacity = Math.ceil((bound * (total + 1)) / candidates.length);
  let best: number | undefined;
  let bestWeight = -1;
  for (let i = 0; i < candidates.length; i += 1) {
    const candidate = candidates[i]!;
    if (!(candidate.load < capacity)) continue;
    const weight = rendezvousWeight(key, candidate.id);
    if (weight > bestWeight || (weight === bestWeight && candidate.id < candidates[best!]!.id)) {
      best = i;
      bestWeight = weight;
    }
  }
  return best;
}
