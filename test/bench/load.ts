// Load-generation pieces the benchmarks share: an open-loop driver that counts each request's
// latency from its scheduled time (no coordinated omission), percentiles, and a process's CPU
// time and RSS from /proc.
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';

export interface OpenLoopRun {
  readonly latencies: Float64Array;
  /** Requests that failed, by the code `send` reported. */
  readonly failures: Map<string | number, number>;
}

/** Sends one request and calls `done` once, with a failure code or undefined on success. */
export type Send = (done: (failure?: string | number) => void) => void;

/** `rate` requests/s for `duration` s, each request's latency from its scheduled time. */
export async function openLoop(send: Send, duration: number, rate: number): Promise<OpenLoopRun> {
  const total = Math.round(rate * duration);
  const latencies = new Float64Array(total);
  const failures = new Map<string | number, number>();
  const interval = 1000 / rate;
  let issued = 0;
  let settled = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const issue = (scheduled: number): void => {
      const index = issued;
      send((failure) => {
        latencies[index] = performance.now() - scheduled;
        if (failure !== undefined) failures.set(failure, (failures.get(failure) ?? 0) + 1);
        if (++settled === total) resolve();
      });
    };
    const tick = (): void => {
      const now = performance.now();
      for (; issued < total && start + issued * interval <= now; issued++) issue(start + issued * interval);
      if (issued < total) setTimeout(tick, Math.max(0, start + issued * interval - performance.now()));
    };
    tick();
  });
  return { latencies, failures };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** p50/p99 (ms) and failures over all `runs` together. */
export function summary(runs: readonly OpenLoopRun[]): { p50: number; p99: number; failures: Map<string | number, number> } {
  const all = new Float64Array(runs.reduce((n, run) => n + run.latencies.length, 0));
  const failures = new Map<string | number, number>();
  let offset = 0;
  for (const run of runs) {
    all.set(run.latencies, offset);
    offset += run.latencies.length;
    for (const [code, count] of run.failures) failures.set(code, (failures.get(code) ?? 0) + count);
  }
  all.sort();
  return { p50: percentile(all, 50), p99: percentile(all, 99), failures };
}

/** CPU time (user + system) a process has used, in microseconds (/proc, 100 ticks a second). */
export async function cpuMicros(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** System calls a process has made that read or write (sockets, pipes, files), from /proc/PID/io. */
export async function ioSyscalls(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0) + Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0);
}

/**
 * Resident memory of a process in MB, from /proc: all of it (VmRSS), and its anonymous part
 * (RssAnon: the heaps, its own; the rest is mostly the `node` binary's pages, shared by every
 * Node process on the machine).
 */
export async function residentMb(pid: number): Promise<{ rss: number; anon: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
}


export const loadAverage = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
