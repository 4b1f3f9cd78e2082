// How the operator commands reach the control plane's admin API: `--control-plane URL`, else
// $WEFT_CONTROL_PLANE, else the address `weft up` recorded in .weft/up.json; and with which token:
// `--token-file FILE`, else $WEFT_TOKEN, else the token `weft up` recorded (when its address is
// the one used), else the token file in the default state directory (.weft/control-plane), the
// read token for reads when there is one. Failures become user-facing errors with an exit code,
// never stack traces.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliError } from '../api/error-catalogue.js';
import { ADMIN_TOKEN_FILES, DEFAULT_STATE_DIR, type AdminErrorBody, type AdminScope, type ChangeAnswer } from '../api/admin-contract.js';
import { formatProblem } from '../errors.js';

export const CONTROL_PLANE_FLAG = {
  'control-plane': { type: 'string' },
  'token-file': { type: 'string' },
} as const;

/** The control plane's default state directory, relative to the working directory. */

export function userError(message: string, exitCode: number): Error {
  return Object.assign(new Error(message), { exitCode });
}

/** Where the admin API is and the bearer token to call it with (absent: none was found). */
export interface AdminTarget {
  readonly base: string;
  readonly token?: string;
}

interface UpRecordFields {
  controlPlane?: { admin?: unknown; tokenFiles?: { read?: unknown; write?: unknown } };
}

async function upRecord(cwd: string): Promise<UpRecordFields | undefined> {
  try {
    return JSON.parse(await readFile(join(cwd, '.weft', 'up.json'), 'utf8')) as UpRecordFields;
  } catch {
    return undefined; // no usable record
  }
}

async function readToken(file: string, required: boolean): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw userError(`cannot read the admin token ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 2);
  }
  const token = text.trim();
  if (token === '') throw userError(`the admin token file ${file} is empty`, 2);
  return token;
}

/** The first token file of `files` that exists, `scope`'s own first. */
async function tokenOf(files: Partial<Record<AdminScope, string>>, scope: AdminScope): Promise<string | undefined> {
  const order: AdminScope[] = scope === 'read' ? ['read', 'write'] : ['write'];
  for (const which of order) {
    const file = files[which];
    const token = file === undefined ? undefined : await readToken(file, false);
    if (token !== undefined) return token;
  }
  return undefined;
}

export async function adminTarget(flags: { 'control-plane'?: string; 'token-file'?: string }, scope: AdminScope, cwd = process.cwd()): Promise<AdminTarget> {
  const up = await upRecord(cwd);
  const chosen = flags['control-plane'] ?? process.env.WEFT_CONTROL_PLANE;
  const fromUp = typeof up?.controlPlane?.admin === 'string' ? up.controlPlane.admin.replace(/\/+$/, '') : undefined;
  const base = chosen !== undefined && chosen !== '' ? chosen.replace(/\/+$/, '') : fromUp;
  if (base === undefined) throw userError('no control plane to talk to: pass --control-plane URL, set WEFT_CONTROL_PLANE, or start one with `weft up`', 2);
  let token: string | undefined;
  if (flags['token-file'] !== undefined) token = await readToken(flags['token-file'], true);
  else if (process.env.WEFT_TOKEN !== undefined && process.env.WEFT_TOKEN !== '') token = process.env.WEFT_TOKEN.trim();
  else {
    // weft up's token goes only to weft up's control plane.
    const upFiles = base === fromUp ? up?.controlPlane?.tokenFiles : undefined;
    const recorded = Object.fromEntries(Object.entries(upFiles ?? {}).filter(([, file]) => typeof file === 'string')) as Partial<Record<AdminScope, string>>;
    token =
      (await tokenOf(recorded, scope)) ??
      (await tokenOf({ read: join(cwd, DEFAULT_STATE_DIR, ADMIN_TOKEN_FILES.read), write: join(cwd, DEFAULT_STATE_DIR, ADMIN_TOKEN_FILES.write) }, scope));
  }
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw userError('the admin token may hold only printable ASCII characters without spaces', 2);
  return { base, ...(token === undefined ? {} : { token }) };
}

/** Calls the admin API; a refused change or an error answer becomes a user-facing error. */
export async function callAdmin<T>(
  { base, token }: AdminTarget,
  path: string,
  body?: unknown,
  describeFile: (file: string) => string = (file) => file,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
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

export function printChanges(answer: ChangeAnswer): void {
  const suffix = answer.dryRun ? ' (dry run)' : '';
  for (const change of answer.changes) process.stdout.write(`${change.key} ${change.action}${suffix}\n`);
  if (!answer.dryRun) process.stdout.write(`revision ${answer.revision.number}\n`);
}
