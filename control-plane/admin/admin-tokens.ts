// The admin API's credentials: a read token and a write token, random secrets the control plane
// creates beside its other state (mode 0600, never overwritten) on first start. Only their
// SHA-256 digests are held, and a presented token is compared digest to digest with
// timingSafeEqual, so neither the length nor a prefix of a token leaks through timing.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILES, type AdminScope } from '../api/admin-contract.js';
import { assertPrivateFile, writePrivateFile } from '../ca/ca-directory.js';

const MAX_TOKEN_LENGTH = 512;

/** Who called: the scope of the token, and a short fingerprint naming it in audit lines. */
export interface AdminCaller {
  readonly scope: AdminScope;
  readonly name: string;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

function newToken(scope: AdminScope): string {
  return `weft-admin-${scope}.${randomBytes(32).toString('base64url')}`;
}

async function openTokenFile(path: string, scope: AdminScope): Promise<string> {
  try {
    await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await writePrivateFile(path, `${newToken(scope)}\n`).catch((writeError: NodeJS.ErrnoException) => {
      // Another process created it meanwhile: use that one.
      if (writeError.code !== 'EEXIST') throw writeError;
    });
  }
  await assertPrivateFile(path);
  return (await readFile(path, 'utf8')).trim();
}

export class AdminTokens {
  readonly #digests: ReadonlyMap<AdminScope, Buffer>;
  /** Where the tokens are, when they were read from files (printed at start). */
  readonly files: Readonly<Partial<Record<AdminScope, string>>>;

  constructor(tokens: Readonly<Record<AdminScope, string>>, files: Readonly<Partial<Record<AdminScope, string>>> = {}) {
    if (tokens.read === tokens.write) throw new Error('the read and the write token must differ');
    for (const token of Object.values(tokens)) if (token.length < 32) throw new Error('an admin token must be at least 32 characters');
    this.#digests = new Map([
      ['read', digest(tokens.read)],
      ['write', digest(tokens.write)],
    ]);
    this.files = Object.freeze({ ...files });
  }

  /** The tokens in `dir`, created (0600) when absent; a token file others may read is refused. */
  static async open(dir: string): Promise<AdminTokens> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const files = { read: join(dir, ADMIN_TOKEN_FILES.read), write: join(dir, ADMIN_TOKEN_FILES.write) };
    return new AdminTokens({ read: await openTokenFile(files.read, 'read'), write: await openTokenFile(files.write, 'write') }, files);
  }

  /** The caller a `Bearer` authorization header proves, or why none. */
  authenticate(authorization: string | undefined): AdminCaller | 'missing' | 'invalid' {
    if (authorization === undefined || authorization === '') return 'missing';
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (match === null || match[1]!.length > MAX_TOKEN_LENGTH) return 'invalid';
    const presented = digest(match[1]!);
    // Both compared every time: which one matched does not show in the time taken.
    const isRead = timingSafeEqual(presented, this.#digests.get('read')!);
    const isWrite = timingSafeEqual(presented, this.#digests.get('write')!);
    const scope: AdminScope | undefined = isWrite ? 'write' : isRead ? 'read' : undefined;
    if (scope === undefined) return 'invalid';
    return { scope, name: `admin-token:${scope}:${presented.subarray(0, 4).toString('hex')}` };
  }
}
