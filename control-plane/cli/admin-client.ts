// How the operator commands reach the control plane's admin API: `--control-plane URL`, else
// $WEFT_CONTROL_PLANE, else the address `weft up` recorded in .weft/up.json. Failures become
// user-facing errors with an exit code, never stack traces.
import { readFile } from 'node:fs/promises';
import { cliError } from '../api/error-catalogue.js';
import { formatProblem, type Problem } from '../errors.js';

export const CONTROL_PLANE_FLAG = {
  'control-plane': { type: 'string' },
} as const;

export function userError(message: string, exitCode: number): Error {
  return Object.assign(new Error(message), { exitCode });
}

export async function adminUrl(flag: string | undefined, cwd = process.cwd()): Promise<string> {
  const chosen = flag ?? process.env.WEFT_CONTROL_PLANE;
  if (chosen !== undefined && chosen !== '') return chosen.replace(/\/+$/, '');
  const upFile = `${cwd}/.weft/up.json`;
  try {
    const up = JSON.parse(await readFile(upFile, 'utf8')) as { controlPlane?: { admin?: unknown } };
    if (typeof up.controlPlane?.admin === 'string') return up.controlPlane.admin.replace(/\/+$/, '');
  } catch {
    // No usable record: fall through to the usage error below.
  }
  throw userError('no control plane to talk to: pass --control-plane URL, set WEFT_CONTROL_PLANE, or start one with `weft up`', 2);
}

export interface AdminErrorBody {
  error: { code: string; message: string; problems?: Problem[] };
}

/** Calls the admin API; a refused change or an error answer becomes a user-facing error. */
export async function callAdmin<T>(
  base: string,
  path: string,
  body?: unknown,
  describeFile: (file: string) => string = (file) => file,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw userError(`cannot reach the control plane at ${base}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, 1);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw userError(`the control plane at ${base} answered ${response.status} with something that is not JSON`, 1);
  }
  if (response.ok) return parsed as T;
  const { error } = parsed as AdminErrorBody;
  if (error?.problems !== undefined) {
    const lines = error.problems.map((p) => `  ${formatProblem({ ...p, file: describeFile(p.file) })}`);
    throw userError(`${error.message}\n${lines.join('\n')}`, 1);
  }
  throw userError(cliError(error?.code ?? 'UNKNOWN', error?.message ?? `HTTP ${response.status}`), 1);
}

export interface ChangeAnswer {
  dryRun: boolean;
  revision: { number: number; hash: string };
  changes: { key: string; action: string }[];
}

export function printChanges(answer: ChangeAnswer): void {
  const suffix = answer.dryRun ? ' (dry run)' : '';
  for (const change of answer.changes) process.stdout.write(`${change.key} ${change.action}${suffix}\n`);
  if (!answer.dryRun) process.stdout.write(`revision ${answer.revision.number}\n`);
}
