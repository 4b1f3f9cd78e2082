// Drives load with the Debian `hey` binary and reads its summary.
import { toolOutput } from './tool-output.js';

export interface HeyResult {
  /** Responses by status code. */
  readonly statuses: Record<string, number>;
  /** Transport errors by message (connection refused, reset, timeout...). */
  readonly errors: string[];
  readonly requestsPerSecond: number;
  /** Latency percentiles in milliseconds (NaN when hey printed none). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly output: string;
}

function percentileMs(output: string, percent: number): number {
  return Number(new RegExp(`\\s${percent}% in ([\\d.]+) secs`).exec(output)?.[1]) * 1000;
}

export async function runHey(args: string[], timeoutMs: number, stop?: AbortSignal): Promise<HeyResult> {
  const output = await toolOutput('hey', args, timeoutMs, stop);
  const statuses: Record<string, number> = {};
  for (const match of output.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)) statuses[match[1] as string] = Number(match[2]);
  const errorSection = output.split('Error distribution:')[1] ?? '';
  const errors = errorSection.split('\n').map((line) => line.trim()).filter((line) => /^\[\d+\]/.test(line));
  const requestsPerSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  return { statuses, errors, requestsPerSecond, p50Ms: percentileMs(output, 50), p99Ms: percentileMs(output, 99), output };
}
