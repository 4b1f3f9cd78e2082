// Runs the built `weft` command as a user would: a child process of the compiled CLI.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// From test/helpers/ (vitest) or dist/bench/test/helpers/ (the compiled benches): the build's
// dist/deploy/cli/weft.js either way.
const fromBench = import.meta.url.includes('/dist/bench/test/');
export const weftBin = fileURLToPath(new URL(fromBench ? '../../../deploy/cli/weft.js' : '../../dist/deploy/cli/weft.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runWeft(args: string[], options: { cwd?: string; input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [weftBin, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
