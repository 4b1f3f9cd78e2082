// The python3-spyne SOAP service of test/interop/spyne_soap_service.py as a child process on a
// free loopback port, and python3-zeep's envelopes for the same calls (test/interop/zeep_envelopes.py).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PYTHON = '/usr/bin/python3';

/** The repository root, from the sources (tests) or from their compiled copy (benchmarks). */
export function repositoryRoot(from = import.meta.dirname): string {
  return existsSync(join(from, 'package.json')) ? from : repositoryRoot(dirname(from));
}

const INTEROP = join(repositoryRoot(), 'test', 'interop');

export interface SpyneService {
  readonly port: number;
  /** `http://127.0.0.1:PORT/<path>` */
  url(path: string): string;
  stop(): void;
}

/** `workers` processes share the listening socket (each stops when stdin closes). */
export async function startSpyne(wssePassword: string, workers = 1): Promise<SpyneService> {
  return startPythonService('spyne_soap_service.py', wssePassword, [String(workers)]);
}

/** A Python peer of test/interop/ that prints `listening PORT` and exits when its stdin closes. */
export async function startPythonService(script: string, secret: string, extraArgs: readonly string[] = []): Promise<SpyneService> {
  // Its stderr holds the tracebacks of the faults tests provoke: kept only to explain an early exit.
  // Its own process group, so stopping it stops every worker it forked (a worker left behind
  // holds the stdout pipe open, and this process would never exit).
  const child = spawn(PYTHON, [join(INTEROP, script), '0', secret, ...extraArgs], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').once('data', (line: string) => {
      const match = /^listening (\d+)/.exec(line);
      if (match === null) reject(new Error(`${script} said: ${line}`));
      else resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}: ${stderr}`)));
  });
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}/${path}`,
    stop: () => {
      child.stdin.end();
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // Already gone.
      }
    },
  };
}

export interface ZeepCall {
  readonly wsdl: string;
  readonly operation: string;
  readonly args: Record<string, unknown>;
}

export async function zeepEnvelopes(calls: readonly ZeepCall[]): Promise<{ soapAction: string; envelope: string }[]> {
  const child = spawn(PYTHON, [join(INTEROP, 'zeep_envelopes.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  child.stdin.end(JSON.stringify(calls));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`zeep exited ${code}: ${err}`);
  return JSON.parse(out) as { soapAction: string; envelope: string }[];
}
