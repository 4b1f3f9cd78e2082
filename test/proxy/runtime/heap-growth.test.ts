// The sidecar's heap growing factor, measured in a child Node process (a V8 flag is process-wide):
// a live set of about 30 MB, then a stream of objects that each live a little while (as a
// request's do), and the largest heap V8 reached along the way.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const built = fileURLToPath(new URL('../../../dist/proxy/runtime/heap-growth.js', import.meta.url));

const workload = (tune: boolean) => `
import v8 from 'node:v8';
import { limitHeapGrowth } from ${JSON.stringify(built)};
const applied = ${tune ? 'limitHeapGrowth()' : 'undefined'};
const live = [];
for (let i = 0; i < 200_000; i++) live.push({ i, s: 'x' + i, a: [i, i + 1] });
const ring = new Array(20_000);
let peak = 0;
for (let i = 0; i < 3_000_000; i++) {
  ring[i % ring.length] = { i, s: 'y' + i, a: [i] };
  if (i % 10_000 === 0) peak = Math.max(peak, v8.getHeapStatistics().total_heap_size);
}
process.stdout.write(JSON.stringify({ peakMb: peak / 1048576, applied: applied ?? null, live: live.length }));
`;

async function run(nodeArgs: string[], tune: boolean): Promise<{ peakMb: number; applied: number | null }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=2', ...nodeArgs, '--input-type=module', '-e', workload(tune)]);
  return JSON.parse(stdout) as { peakMb: number; applied: number | null };
}

describe('sidecar heap growth', () => {
  it('keeps the heap near its live set under a stream of short-lived objects', async () => {
    const [tuned, untuned] = await Promise.all([run([], true), run([], false)]);
    expect(tuned.applied).toBe(30);
    // About 30 MB live: 1.3x of it, the young generation and slack, against V8's default up to 4x.
    expect(tuned.peakMb).toBeLessThan(75);
    expect(untuned.peakMb).toBeGreaterThan(tuned.peakMb);
  }, 60_000);

  it("keeps an operator's own factor from the command line, however the flag is spelled", async () => {
    const [dashes, underscores] = await Promise.all([run(['--heap-growing-percent=300'], true), run(['--heap_growing_percent=300'], true)]);
    for (const own of [dashes, underscores]) {
      expect(own.applied).toBeNull();
      expect(own.peakMb).toBeGreaterThan(75);
    }
  }, 60_000);
});
