// The bootstrap-token verifier's edges (control-plane/ca/bootstrap-token.ts): every claim it
// requires, the bounds it puts on lifetimes and token ids, the identities it never vouches for,
// and the error code each refusal carries.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { BootstrapTokens, generateTokenKeyPem } from '../../../control-plane/ca/bootstrap-token.js';

const id = 'spiffe://cluster.local/ns/shop/sa/web';
const reserved = 'spiffe://cluster.local/ns/weft-system/sa/control-plane';
// Not generateTokenKeyPem: a test below checks it, and a key made as the file loads would hide
// its failure (a file that does not load fails no test).
const key: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const tokens = new BootstrapTokens(key);

/** A token signed with the verifier's own key, with exactly the claims given. */
function signed(claims: Record<string, unknown>, alg = 'ES256'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(key);
}
const now = () => Math.floor(Date.now() / 1000);
const good = () => ({ iss: 'weft-control-plane', aud: 'weft-ca', sub: id, jti: 'token-1', iat: now(), exp: now() + 60 });

async function refusal(token: string): Promise<{ code: string; message: string }> {
  const error = (await tokens.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: string; message: string } | undefined;
  if (error === undefined) throw new Error('the token was accepted');
  return error;
}

describe('BootstrapTokens.mint', () => {
  it('takes lifetimes from 1 second to 24 hours in whole milliseconds, rounding the expiry up to a second', async () => {
    const at = 1_700_000_000_500;
    const short = decodeJwt(await tokens.mint({ spiffeId: id, ttlMs: 1000, now: at }));
    expect(short.iat).toBe(1_700_000_000);
    expect(short.exp).toBe(1_700_000_001);
    const odd = decodeJwt(await tokens.mint({ spiffeId: id, ttlMs: 1500, now: at }));
    expect(odd.exp).toBe(1_700_000_002);
    const day = decodeJwt(await tokens.mint({ spiffeId: id, ttlMs: 24 * 3600_000, now: at }));
    expect(day.exp).toBe(1_700_000_000 + 86_400);
    const fifteenMinutes = decodeJwt(await tokens.mint({ spiffeId: id, now: at }));
    expect(fifteenMinutes.exp).toBe(1_700_000_000 + 900);
    for (const ttlMs of [999, 24 * 3600_000 + 1, 1500.5, 0, -1000]) {
      await expect(tokens.mint({ spiffeId: id, ttlMs }), String(ttlMs)).rejects.toMatchObject({
        code: 'TTL_INVALID',
        message: expect.stringContaining(`a token lifetime must be between 1 second and 24 hours, got ${ttlMs} ms`),
      });
    }
  });

  it('marks a token reusable only when asked, and the verifier reads the mark', async () => {
    const single = await tokens.mint({ spiffeId: id });
    expect(decodeJwt(single)).not.toHaveProperty('weft_reusable');
    expect(await tokens.verify(single)).toMatchObject({ reusable: false });
    const reusable = await tokens.mint({ spiffeId: id, reusable: true });
    expect(decodeJwt(reusable)).toMatchObject({ weft_reusable: true });
    expect(await tokens.verify(reusable)).toMatchObject({ reusable: true });
    expect(await tokens.verify(await signed({ ...good(), weft_reusable: 'true' }))).toMatchObject({ reusable: false });
  });

  it('gives each token its own id, a JWT header naming ES256, and the expiry the verifier reports', async () => {
    const [a, b] = [await tokens.mint({ spiffeId: id }), await tokens.mint({ spiffeId: id })];
    expect(decodeJwt(a).jti).not.toBe(decodeJwt(b).jti);
    expect(JSON.parse(Buffer.from(a.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'JWT' });
    const verified = await tokens.verify(a);
    expect(verified).toEqual({ spiffeId: id, tokenId: decodeJwt(a).jti, expiresAt: new Date((decodeJwt(a).exp as number) * 1000), reusable: false });
  });

  it('mints no token for an identity in the control plane\'s namespace', async () => {
    await expect(tokens.mint({ spiffeId: reserved })).rejects.toMatchObject({ code: 'IDENTITY_RESERVED', message: expect.stringContaining(`${reserved} is in the control plane's namespace weft-system`) });
  });
});

describe('BootstrapTokens.verify', () => {
  it('accepts a token with every required claim, signed with its key', async () => {
    expect(await tokens.verify(await signed(good()))).toMatchObject({ spiffeId: id, tokenId: 'token-1' });
  });

  it.each(['sub', 'exp', 'iat', 'jti'])('refuses a token without %s as malformed', async (claim) => {
    const claims: Record<string, unknown> = good();
    delete claims[claim];
    expect(await refusal(await signed(claims))).toMatchObject({ code: 'TOKEN_MALFORMED' });
  });

  it('refuses a token of another issuer, and one of another audience by its own code', async () => {
    expect(await refusal(await signed({ ...good(), iss: 'someone-else' }))).toMatchObject({ code: 'TOKEN_MALFORMED' });
    expect(await refusal(await signed({ ...good(), aud: 'weft-admin' }))).toEqual(expect.objectContaining({ code: 'TOKEN_WRONG_AUDIENCE', message: expect.stringContaining("the token's audience is not weft-ca") }));
  });

  it('allows 5 seconds of clock difference past expiry and before issue, and no more', async () => {
    expect(await tokens.verify(await signed({ ...good(), exp: now() - 2 }))).toMatchObject({ spiffeId: id });
    expect(await refusal(await signed({ ...good(), exp: now() - 20 }))).toMatchObject({ code: 'TOKEN_EXPIRED', message: expect.stringContaining('the bootstrap token has expired') });
    expect(await refusal(await signed({ ...good(), nbf: now() + 20 }))).toMatchObject({ code: 'TOKEN_MALFORMED' });
  });

  it('takes token ids of 1 to 128 letters, digits, ".", "-" and "_" only', async () => {
    expect(await tokens.verify(await signed({ ...good(), jti: 'a' }))).toMatchObject({ tokenId: 'a' });
    expect(await tokens.verify(await signed({ ...good(), jti: `Az09._-${'x'.repeat(121)}` }))).toMatchObject({ tokenId: `Az09._-${'x'.repeat(121)}` });
    for (const jti of ['', 'x'.repeat(129), 'a/b', 'a b', 'a\nb', 'ü', 'a:b']) {
      expect(await refusal(await signed({ ...good(), jti })), JSON.stringify(jti)).toEqual(
        expect.objectContaining({ code: 'TOKEN_MALFORMED', message: expect.stringContaining('the token id (jti) must be 1 to 128 letters') }),
      );
    }
    expect(await refusal(await signed({ ...good(), jti: 5 }))).toMatchObject({ code: 'TOKEN_MALFORMED' });
  });

  it('refuses a token for an identity in the control plane\'s namespace even when it is signed', async () => {
    expect(await refusal(await signed({ ...good(), sub: reserved }))).toMatchObject({ code: 'IDENTITY_RESERVED' });
  });

  it('refuses a subject that is no workload ID, naming the subject, and names it for nothing else', async () => {
    expect(await refusal(await signed({ ...good(), sub: 'https://cluster.local/x' }))).toEqual(
      expect.objectContaining({ code: 'TOKEN_MALFORMED', message: expect.stringContaining('the token subject: ') }),
    );
    const garbage = await refusal('not.a.jwt');
    expect(garbage.code).toBe('TOKEN_MALFORMED');
    expect(garbage.message).not.toContain('subject');
  });

  it('generates signing keys for ES256: P-256, PKCS#8 PEM, a new one each time', async () => {
    const pem = generateTokenKeyPem();
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const generated = createPrivateKey(pem);
    expect(generated.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(generateTokenKeyPem()).not.toBe(pem);
    const own = new BootstrapTokens(generated);
    expect((await own.verify(await own.mint({ spiffeId: id }))).spiffeId).toBe(id);
  });

  it('refuses another algorithm with the same kind of key, and a tampered signature', async () => {
    const other = createPrivateKey(generateTokenKeyPem());
    const foreign = await new SignJWT(good()).setProtectedHeader({ alg: 'ES256' }).sign(other);
    expect(await refusal(foreign)).toMatchObject({ code: 'TOKEN_BAD_SIGNATURE', message: expect.stringContaining('the token signature does not verify with this control plane key') });
    const token = await signed(good());
    const [header, body] = token.split('.');
    const otherSignature = (await signed({ ...good(), jti: 'other' })).split('.')[2];
    expect(await refusal(`${header}.${body}.${otherSignature}`)).toMatchObject({ code: 'TOKEN_BAD_SIGNATURE' });
    expect(await refusal(await signed(good(), 'ES384').catch(() => signed(good())).then((t) => t.replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'ES384' })).toString('base64url'))))).toMatchObject({ code: 'TOKEN_MALFORMED' });
  });
});

describe('BootstrapTokens.open', () => {
  it('creates the key directory and key once, and reads the same key after', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'weft-token-')), 'nested', 'state');
    const first = await BootstrapTokens.open(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const second = await BootstrapTokens.open(dir);
    expect(await second.verify(await first.mint({ spiffeId: id }))).toMatchObject({ spiffeId: id });
    await rm(dir, { recursive: true, force: true });
  });

  it('passes on an error other than absence when it looks for the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-token-'));
    await symlink('token-key.pem', join(dir, 'token-key.pem'));
    await expect(BootstrapTokens.open(dir)).rejects.toMatchObject({ code: 'ELOOP' });
    await rm(dir, { recursive: true, force: true });
  });
});
