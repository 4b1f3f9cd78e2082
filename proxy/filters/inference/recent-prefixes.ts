// Which prefix keys this caller has sent recently: a prefix earns affinity only once it
// repeats. A prompt whose leading blocks no other request shares (most chat turns of a long
// conversation's first message, one-off documents) has nothing cached anywhere worth going
// to, and sending it to its rendezvous home would only add a random term to a load-based pick.
// Bounded: the least recently seen key is forgotten first.
export class RecentPrefixes {
  private readonly keys = new Map<string, true>();

  constructor(private readonly capacity: number) {}

  /** Records `key` and says whether it was seen before (and not forgotten since). */
  repeated(key: string): boolean {
    const seen = this.keys.delete(key);
    this.keys.set(key, true);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.keys().next().value!);
    return seen;
  }
}
