import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootstrapTokens } from '../../../control-plane/ca/bootstrap-token.js';
import { runWeft } from '../../helpers/weft-cli.js';

let dir: string;
let tokens: BootstrapTokens;
const id = 'spiffe://cluster.local/ns/shop/sa/web';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-token-'));
  tokens = await BootstrapTokens.open(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('bootstrap tokens', () => {
  it('binds a token to one SPIFFE ID, audience weft-ca, with a short lifetime', async () => {
    const token = await tokens.mint({ spiffeId: id, ttlMs: 120_000 });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: id, aud: 'weft-ca', iss: 'weft-control-plane' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(120);
    expect(await tokens.verify(token)).toMatchObject({ spiffeId: id, tokenId: claims.jti });
  });

  it('keeps its signing key in mode 0600 and refuses to load it when others can read it', async () => {
    expect((await stat(join(dir, 'token-key.pem'))).mode & 0o777).toBe(0o600);
    const other = await mkdtemp(join(tmpdir(), 'weft-token-'));
    await BootstrapTokens.open(other);
    await chmod(join(other, 'token-key.pem'), 0o644);
    await expect(BootstrapTokens.open(other)).rejects.toThrow(/CA_KEY_EXPOSED/);
    await rm(other, { recursive: true });
  });

  it('refuses an expired token, also when replayed later', async () => {
    const token = await tokens.mint({ spiffeId: id, ttlMs: 60_000, now: Date.now() - 3600_000 });
    await expect(tokens.verify(token)).rejects.toThrow(/TOKEN_EXPIRED/);
  });

  it('refuses a token signed by another key', async () => {
    const other = new BootstrapTokens(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    await expect(tokens.verify(await other.mint({ spiffeId: id }))).rejects.toThrow(/TOKEN_BAD_SIGNATURE/);
  });

  it('refuses a token for another audience', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const own = new BootstrapTokens(privateKey);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('weft-control-plane')
      .setAudience('some-api')
      .setSubject(id)
      .setJti('x')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(privateKey);
    await expect(own.verify(token)).rejects.toThrow(/TOKEN_WRONG_AUDIENCE/);
  });

  it('refuses garbage, alg none, an HMAC token and a subject that is no workload ID', async () => {
    await expect(tokens.verify('not.a.jwt')).rejects.toThrow(/TOKEN_MALFORMED/);
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: id, aud: 'weft-ca', iss: 'weft-control-plane', exp: 9999999999 })).toString('base64url');
    await expect(tokens.verify(`${header}.${body}.`)).rejects.toThrow(/TOKEN_MALFORMED/);
    const hmac = await new SignJWT({ sub: id, aud: 'weft-ca', iss: 'weft-control-plane' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1m')
      .sign(new Uint8Array(32));
    await expect(tokens.verify(hmac)).rejects.toThrow(/TOKEN_MALFORMED/);
    await expect(tokens.mint({ spiffeId: 'spiffe://cluster.local/ns/../sa/x' })).rejects.toThrow(/relative/);
  });
});

describe('weft token create', () => {
  it('prints a token the control plane accepts, bound to the workload', async () => {
    const result = await runWeft(['token', 'create', '--workload', 'web', '--namespace', 'shop', '--ttl', '10m', '--state-dir', dir]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const verified = await tokens.verify(result.stdout.trim());
    expect(verified.spiffeId).toBe(id);
    expect(verified.expiresAt.getTime() - Date.now()).toBeGreaterThan(590_000);
  });

  it.each([
    [['token', 'create'], /--workload is required/],
    [['token', 'create', '--workload', 'web', '--ttl', 'soon'], /--ttl: expected a duration/],
    [['token', 'create', '--workload', 'web', '--ttl', '48h'], /between 1 second and 24 hours/],
    [['token', 'create', '--workload', '..'], /not allowed/],
    [['token', 'create', '--workload', 'web', '--frobnicate'], /frobnicate/],
    [['token', 'mint', '--workload', 'web'], /expected the subcommand 'create'/],
  ])('refuses %j with exit code 2 and no stack trace', async (args, message) => {
    const result = await runWeft([...args, '--state-dir', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });
});
