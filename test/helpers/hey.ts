// Drives load with the Debian `hey` binary and reads its summary.
import { spawn } from 'node:child_process';

export interface HeyResult {
  /** Responses by status code. */
  readonly statuses: Record<string, number>;
  /** Transport errors by message (connection refused, reset, timeout...). */
  readonly errors: string[];
  readonly output: string;
}

export function runHey(args: string[], timeoutMs: number): Promise<HeyResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('hey', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const statuses: Record<string, number> = {};
      for (const match of output.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)) statuses[match[1] as string] = Number(match[2]);
      const errorSection = output.split('Error distribution:')[1] ?? '';
      const errors = errorSection.split('\n').map((line) => line.trim()).filter((line) => /^\[\d+\]/.test(line));
      resolve({ statuses, errors, output });
    });
  });
}
