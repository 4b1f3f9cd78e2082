// Drives HTTP/2 load with the Debian `h2load` binary (nghttp2-client) and reads its summary.
import { toolOutput } from './tool-output.js';

export interface H2loadResult {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  /** Responses with a 2xx status. */
  readonly status2xx: number;
  readonly output: string;
}

export async function runH2load(args: string[], timeoutMs: number): Promise<H2loadResult> {
  const output = await toolOutput('h2load', args, timeoutMs);
  const requests = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(output);
  return {
    total: Number(requests?.[1] ?? 0),
    succeeded: Number(requests?.[2] ?? 0),
    failed: Number(requests?.[3] ?? 0),
    errored: Number(requests?.[4] ?? 0),
    status2xx: Number(/status codes: (\d+) 2xx/.exec(output)?.[1] ?? 0),
    output,
  };
}
