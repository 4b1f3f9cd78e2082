// Runs a load tool from Debian's packages (hey, h2load) to completion and resolves with all it
// printed, stdout and stderr together; killed at `timeoutMs`, so a hung tool ends the wait.
// `stop` ends the run early with SIGINT, on which hey stops and still prints its summary.
import { spawn } from 'node:child_process';

export function toolOutput(command: string, args: readonly string[], timeoutMs: number, stop?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    stop?.addEventListener('abort', () => child.kill('SIGINT'), { once: true });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}
