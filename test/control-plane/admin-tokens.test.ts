// The admin API's credential check itself (control-plane/admin/admin-tokens.ts): which header
// proves which scope, what is refused, and the token files it creates and reads.
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdminTokens } from '../../control-plane/admin/admin-tokens.js';

const read = `read-token-${'r'.repeat(32)}`;
const write = `write-token-${'w'.repeat(32)}`;
// Built in each test, not when the file loads: a mutant of the constructor must meet the tests.
const tokensOf = () => new AdminTokens({ read, write });
const fingerprint = (token: string) => createHash('sha256').update(token).digest().subarray(0, 4).toString('hex');

describe('AdminTokens.authenticate', () => {
  it('proves the read scope with the read token and the write scope with the write token, each named by its fingerprint', () => {
    expect(tokensOf().authenticate(`Bearer ${read}`)).toEqual({ scope: 'read', name: `admin-token:read:${fingerprint(read)}` });
    expect(tokensOf().authenticate(`Bearer ${write}`)).toEqual({ scope: 'write', name: `admin-token:write:${fingerprint(write)}` });
  });

  it('takes the scheme in any case, several spaces after it and trailing spaces', () => {
    expect(tokensOf().authenticate(`bearer ${read}`)).toMatchObject({ scope: 'read' });
    expect(tokensOf().authenticate(`BEARER   ${write}  `)).toMatchObject({ scope: 'write' });
  });

  it('says missing for no header or an empty one', () => {
    expect(tokensOf().authenticate(undefined)).toBe('missing');
    expect(tokensOf().authenticate('')).toBe('missing');
  });

  it.each([
    ['another scheme', `Basic ${read}`],
    ['no space after the scheme', `Bearer${read}`],
    ['a leading space', ` Bearer ${read}`],
    ['a prefix before the scheme', `XBearer ${read}`],
    ['a second word', `Bearer ${read} ${read}`],
    ['a tab before the token', `Bearer\t${read}`],
    ['a trailing tab', `Bearer ${read}\t`],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['a prefix of the token', `Bearer ${read.slice(0, -1)}`],
    ['the token and more', `Bearer ${read}x`],
    ['the token with its case changed', `Bearer ${read.toUpperCase()}`],
    ['both tokens joined', `Bearer ${read}${write}`],
  ])('refuses %s as invalid', (_what, header) => {
    expect(tokensOf().authenticate(header)).toBe('invalid');
  });

  it('refuses a token longer than 512 characters before hashing it, and compares one of 512', () => {
    const long = 'x'.repeat(512);
    const withLong = new AdminTokens({ read: long, write });
    expect(withLong.authenticate(`Bearer ${long}`)).toMatchObject({ scope: 'read' });
    expect(withLong.authenticate(`Bearer ${long}x`)).toBe('invalid');
    const longer = 'y'.repeat(513);
    expect(new AdminTokens({ read: longer, write }).authenticate(`Bearer ${longer}`)).toBe('invalid');
  });
});

describe('AdminTokens construction', () => {
  it('refuses equal read and write tokens, and a token shorter than 32 characters', () => {
    expect(() => new AdminTokens({ read, write: read })).toThrow('the read and the write token must differ');
    expect(() => new AdminTokens({ read: 'r'.repeat(31), write })).toThrow('an admin token must be at least 32 characters');
    expect(() => new AdminTokens({ read, write: 'w'.repeat(31) })).toThrow('an admin token must be at least 32 characters');
    expect(new AdminTokens({ read: 'r'.repeat(32), write: 'w'.repeat(32) }).authenticate(`Bearer ${'r'.repeat(32)}`)).toMatchObject({ scope: 'read' });
  });

  it('creates two different 0600 token files on first open, reads the same ones on the next, and names them', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'weft-admin-tokens-')), 'state');
    const first = await AdminTokens.open(dir);
    expect(first.files).toEqual({ read: join(dir, 'admin-read.token'), write: join(dir, 'admin-write.token') });
    expect(Object.isFrozen(first.files)).toBe(true);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const readToken = await readFile(first.files.read!, 'utf8');
    const writeToken = await readFile(first.files.write!, 'utf8');
    expect(readToken).toMatch(/^weft-admin-read\.[A-Za-z0-9_-]{43}\n$/);
    expect(writeToken).toMatch(/^weft-admin-write\.[A-Za-z0-9_-]{43}\n$/);
    for (const file of [first.files.read!, first.files.write!]) expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(first.authenticate(`Bearer ${readToken.trim()}`)).toMatchObject({ scope: 'read' });
    expect(first.authenticate(`Bearer ${writeToken.trim()}`)).toMatchObject({ scope: 'write' });
    const again = await AdminTokens.open(dir);
    expect(again.authenticate(`Bearer ${readToken.trim()}`)).toMatchObject({ scope: 'read' });
    expect(await readFile(first.files.read!, 'utf8')).toBe(readToken);
  });

  it('uses a token file an operator wrote, and refuses one that others may read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-admin-tokens-'));
    const own = `operator-read-token-${'o'.repeat(32)}`;
    await writeFile(join(dir, 'admin-read.token'), `${own}\n`, { mode: 0o600 });
    expect((await AdminTokens.open(dir)).authenticate(`Bearer ${own}`)).toMatchObject({ scope: 'read' });
    await chmod(join(dir, 'admin-read.token'), 0o604);
    await expect(AdminTokens.open(dir)).rejects.toMatchObject({ code: 'CA_KEY_EXPOSED' });
  });

  it('lets two control planes starting at once on one directory agree on the tokens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-admin-tokens-'));
    const [one, other] = await Promise.all([AdminTokens.open(dir), AdminTokens.open(dir)]);
    const readToken = (await readFile(join(dir, 'admin-read.token'), 'utf8')).trim();
    expect(one.authenticate(`Bearer ${readToken}`)).toMatchObject({ scope: 'read' });
    expect(other.authenticate(`Bearer ${readToken}`)).toMatchObject({ scope: 'read' });
  });
});
