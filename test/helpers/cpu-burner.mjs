// Keeps `workers` cores busy for `seconds` (both bounded), to run tests beside a loaded machine:
// `node test/helpers/cpu-burner.mjs 2 300 & npx vitest run ...`. Each worker spins on a hash
// loop and checks the clock every few thousand rounds; the process exits when the time is up.
import { createHash } from 'node:crypto';
import { isMainThread, Worker, workerData } from 'node:worker_threads';

const MAX_WORKERS = 8;
const MAX_SECONDS = 1800;

if (isMainThread) {
  const workers = Math.min(MAX_WORKERS, Math.max(1, Number(process.argv[2] ?? 2)));
  const seconds = Math.min(MAX_SECONDS, Math.max(1, Number(process.argv[3] ?? 60)));
  const until = Date.now() + seconds * 1000;
  for (let i = 0; i < workers; i++) new Worker(new URL(import.meta.url), { workerData: { until } });
} else {
  const { until } = workerData;
  let value = Buffer.alloc(32);
  while (Date.now() < until) {
    for (let i = 0; i < 5000; i++) value = createHash('sha256').update(value).digest();
  }
}
