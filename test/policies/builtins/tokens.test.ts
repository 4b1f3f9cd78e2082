import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, exportSPKI, base64url, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeArray, type Value } from '../../../policies/engine/value.js';
import { call, callIn, expectFailure, makeContext, registry, v } from './call-builtin.js';

// Throwaway keys made at run time; nothing private is committed.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');

async function sign(alg: string, key: KeyObject | Uint8Array, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg, ...header }).sign(key);
}

const secret = 'correct horse battery staple';
const secretBytes = new TextEncoder().encode(secret);
const nowNs = 1_700_000_000_000_000_000n;
const decodeVerify = (token: string, constraints: Record<string, unknown>) =>
  callIn(makeContext(nowNs), 'io.jwt.decode_verify', token, v(constraints)) as readonly Value[];

let rsaPem: string;
let jwks: string;
let tokens: Record<string, string>;

beforeAll(async () => {
  rsaPem = await exportSPKI(rsa.publicKey);
  jwks = JSON.stringify({
    keys: [
      { ...(await exportJWK(otherRsa.publicKey)), kid: 'old' },
      { ...(await exportJWK(rsa.publicKey)), kid: 'current', alg: 'RS256' },
      { ...(await exportJWK(p256.publicKey)), kid: 'ec' },
    ],
  });
  tokens = {
    RS256: await sign('RS256', rsa.privateKey, { sub: 'alice', big: 2 ** 60 }),
    PS256: await sign('PS256', rsa.privateKey, { sub: 'alice' }),
    RS512: await sign('RS512', rsa.privateKey, { sub: 'alice' }),
    ES256: await sign('ES256', p256.privateKey, { sub: 'alice' }),
    ES384: await sign('ES384', p384.privateKey, { sub: 'alice' }),
    HS256: await sign('HS256', secretBytes, { sub: 'alice' }),
    EdDSA: await sign('EdDSA', ed.privateKey, { sub: 'alice' }),
  };
});

describe('io.jwt.decode', () => {
  it('returns header, payload and hex signature', () => {
    const [header, payload, signature] = call('io.jwt.decode', tokens.RS256!) as readonly Value[];
    expect(call('object.get', header!, 'alg', null)).toBe('RS256');
    expect(call('object.get', payload!, 'sub', null)).toBe('alice');
    expect(signature).toBe(Buffer.from(tokens.RS256!.split('.')[2]!, 'base64url').toString('hex'));
  });

  it('decodes nested tokens and refuses malformed ones', () => {
    const inner = tokens.HS256!;
    const outer = `${base64url.encode(JSON.stringify({ alg: 'HS256', cty: 'JWT' }))}.${base64url.encode(inner)}.c2ln`;
    const [, payload] = call('io.jwt.decode', outer) as readonly Value[];
    expect(call('object.get', payload!, 'sub', null)).toBe('alice');
    expectFailure('io.jwt.decode', ['a.b'], 'eval_builtin_error', 'io.jwt.decode: encoded JWT must have 3 sections, found 2');
    // No period at all is its own error in OPA (decodeJWT checks for a separator before counting sections).
    expectFailure('io.jwt.decode', ['eyJhbGciOiJIUzI1NiJ9e30'], 'eval_builtin_error', 'io.jwt.decode: encoded JWT had no period separators');
    expectFailure('io.jwt.verify_hs256', ['abc', 'secret'], 'eval_builtin_error', 'io.jwt.verify_hs256: encoded JWT had no period separators');
    expectFailure('io.jwt.decode', ['!!.e30.'], 'eval_builtin_error', 'JWT header had invalid encoding');
    // OPA's extractJSONObject texts, the header's behind `bad JWT header: `.
    expectFailure('io.jwt.decode', [`${base64url.encode('[1]')}.e30.`], 'eval_builtin_error', 'io.jwt.decode: bad JWT header: decoded JSON type was not an Object');
    expectFailure('io.jwt.decode', [`${base64url.encode('{"alg":')}.e30.`], 'eval_builtin_error', 'io.jwt.decode: bad JWT header: invalid JSON: ');
    expectFailure('io.jwt.decode', [`${base64url.encode('{"alg":"none"}')}.${base64url.encode('{')}.`], 'eval_builtin_error', 'io.jwt.decode: invalid JSON: ');
    expectFailure('io.jwt.decode', [`${base64url.encode('{"alg":"none"}')}.${base64url.encode('"x"')}.`], 'eval_builtin_error', 'io.jwt.decode: decoded JSON type was not an Object');
  });

  it("names the bad byte of a part in Go's words, as OPA does (base64url.decode's reading)", () => {
    const header = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9';
    const payload = 'eyJzdWIiOiIwIiwiaXNzIjoib3BhIn0';
    const signature = 'XmVoLoHI3pxMtMO_WRONMSJzGUDP9pDjy8Jp0_tdRXY';
    expectFailure('io.jwt.decode', [`eyJhbGciOiJIU^%zI1NiI+sInR5cCI6IkpXVCJ9.${payload}.${signature}`], 'eval_builtin_error',
      'io.jwt.decode: JWT header had invalid encoding: illegal base64 data at input byte 13');
    expectFailure('io.jwt.decode', [`${header}.eyJzdWIiOiIwIiwia/XNzIjoib3BhIn0.${signature}`], 'eval_builtin_error',
      'io.jwt.decode: JWT payload had invalid encoding: illegal base64 data at input byte 17');
    expectFailure('io.jwt.decode', [`${header}.${payload}.XmVoLoHI3pxMtMO(_WRONMSJzGUDP9pDjy8Jp0_tdRXY`], 'eval_builtin_error',
      'io.jwt.decode: JWT signature had invalid encoding: illegal base64 data at input byte 15');
    // A length that no padding completes is base64url.decode's own error.
    expectFailure('io.jwt.decode', [`${header}.${payload}.abcde`], 'eval_builtin_error', 'JWT signature had invalid encoding: illegal base64url string: abcde');
  });

  it("decodes a nested token that jwt.io quoted, as OPA's decode does", () => {
    const outer = `${base64url.encode(JSON.stringify({ alg: 'HS256', cty: 'JWT' }))}.${base64url.encode(`"${tokens.HS256!}"`)}.c2ln`;
    const [, payload] = call('io.jwt.decode', outer) as readonly Value[];
    expect(call('object.get', payload!, 'sub', null)).toBe('alice');
  });

  it('refuses a JWE (a header with enc) as OPA does, before reading the payload', async () => {
    const jwe = `${base64url.encode(JSON.stringify({ alg: 'RS256', enc: 'A128GCM' }))}.${base64url.encode('not json')}.c2ln`;
    const message = 'JWT is a JWE object, which is not supported';
    expectFailure('io.jwt.decode', [jwe], 'eval_builtin_error', `io.jwt.decode: ${message}`);
    expectFailure('io.jwt.verify_rs256', [jwe, rsaPem], 'eval_builtin_error', `io.jwt.verify_rs256: ${message}`);
    expectFailure('io.jwt.decode_verify', [jwe, v({ cert: rsaPem })], 'eval_builtin_error', `io.jwt.decode_verify: ${message}`);
  });
});

describe('io.jwt.verify_*', () => {
  it('verifies each algorithm with PEM or JWK Set keys', async () => {
    expect(call('io.jwt.verify_rs256', tokens.RS256!, rsaPem)).toBe(true);
    expect(call('io.jwt.verify_rs256', tokens.RS256!, jwks)).toBe(true);
    expect(call('io.jwt.verify_rs512', tokens.RS512!, rsaPem)).toBe(true);
    expect(call('io.jwt.verify_ps256', tokens.PS256!, rsaPem)).toBe(true);
    expect(call('io.jwt.verify_es256', tokens.ES256!, jwks)).toBe(true);
    expect(call('io.jwt.verify_es384', tokens.ES384!, await exportSPKI(p384.publicKey))).toBe(true);
    expect(call('io.jwt.verify_hs256', tokens.HS256!, secret)).toBe(true);
    expect(call('io.jwt.verify_eddsa', tokens.EdDSA!, JSON.stringify(await exportJWK(ed.publicKey)))).toBe(true);
  });

  it('is false for a wrong key, a tampered token, or another algorithm', async () => {
    expect(call('io.jwt.verify_rs256', tokens.RS256!, await exportSPKI(otherRsa.publicKey))).toBe(false);
    expect(call('io.jwt.verify_hs256', tokens.HS256!, 'wrong')).toBe(false);
    const [h, p, s] = tokens.RS256!.split('.');
    const tampered = `${h}.${base64url.encode(JSON.stringify({ sub: 'mallory' }))}.${s}`;
    expect(call('io.jwt.verify_rs256', tampered, rsaPem)).toBe(false);
    expect(call('io.jwt.verify_rs384', tokens.RS256!, rsaPem)).toBe(false);
    expect(call('io.jwt.verify_es256', tokens.ES384!, await exportSPKI(p384.publicKey))).toBe(false);
    expect(call('io.jwt.verify_ps256', `${h}.${p}.${s}`, rsaPem)).toBe(false);
  });

  it('makes HS/RS confusion impossible: a public key is never an HMAC secret', async () => {
    // An attacker signs HS256 with the server's public key text as the secret.
    const forged = await sign('HS256', new TextEncoder().encode(rsaPem), { sub: 'mallory' });
    expect(call('io.jwt.verify_rs256', forged, rsaPem)).toBe(false);
    expect(decodeVerify(forged, { cert: rsaPem })[0]).toBe(false);
  });

  it('never accepts alg none', () => {
    const none = `${base64url.encode('{"alg":"none"}')}.${base64url.encode('{"sub":"mallory"}')}.`;
    expect(call('io.jwt.verify_hs256', none, '')).toBe(false);
    expect(decodeVerify(none, { secret: '' })[0]).toBe(false);
  });

  it('rejects unusable keys clearly', () => {
    expectFailure('io.jwt.verify_rs256', [tokens.RS256!, 'not a key'], 'eval_builtin_error', 'key must be a PEM encoded certificate or public key, or a JWK');
    expectFailure('io.jwt.verify_rs256', [tokens.RS256!, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'], 'eval_builtin_error', 'failed to parse a PEM public key');
    // As OPA's getKeyFromCertOrJWK: only CERTIFICATE and PUBLIC KEY blocks, and nothing after the block.
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(call('io.jwt.verify_rs256', tokens.RS256!, pem)).toBe(true);
    const retyped = pem.replaceAll('PUBLIC KEY', 'CERT');
    expectFailure('io.jwt.verify_rs256', [tokens.RS256!, retyped], 'eval_builtin_error', 'io.jwt.verify_rs256: failed to extract a Key from the PEM certificate');
    const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    expectFailure('io.jwt.verify_rs256', [tokens.RS256!, pkcs1], 'eval_builtin_error', 'failed to extract a Key from the PEM certificate');
    expectFailure('io.jwt.verify_rs256', [tokens.RS256!, pem + pem], 'eval_builtin_error', 'io.jwt.verify_rs256: extra data after a PEM certificate block');
    expectFailure('io.jwt.verify_rs256', [tokens.RS256!, '{"keys": [{"kty": "oct", "k": "AA"}]}'], 'eval_builtin_error', 'no public keys');
    // OPA's order: the key is read before the signature, the signature before the header; the
    // payload is never read, and a signature error is base64url.decode's own text.
    const [h, p, sig] = tokens.RS256!.split('.') as [string, string, string];
    expectFailure('io.jwt.verify_rs256', [`!!.${p}.(`, 'not a key'], 'eval_builtin_error', 'io.jwt.verify_rs256: failed to parse a JWK key (set): ');
    expectFailure('io.jwt.verify_rs256', [`!!.${p}.((`, rsaPem], 'eval_builtin_error', 'io.jwt.verify_rs256: illegal base64 data at input byte 0');
    expectFailure('io.jwt.verify_rs256', [`!!.${p}.${sig}`, rsaPem], 'eval_builtin_error', 'io.jwt.verify_rs256: JWT header had invalid encoding');
    expect(call('io.jwt.verify_rs256', `${h}.!!.${sig}`, rsaPem)).toBe(false);
    // HMAC verification never fails on the header: one that does not decode leaves the token unverified.
    expect(call('io.jwt.verify_hs256', `!!.${p}.${sig}`, secret)).toBe(false);
    // Every failure to read a JWK or JWK Set carries OPA's wrapper text.
    expectFailure('io.jwt.verify_rs256', [tokens.RS256!, '{"kty": "XYZ", "n": "AQAB", "e": "AQAB"}'], 'eval_builtin_error', 'io.jwt.verify_rs256: failed to parse a JWK key (set): ');
    expectFailure('io.jwt.verify_es256', [tokens.ES256!, '{"keys": 3}'], 'eval_builtin_error', 'io.jwt.verify_es256: failed to parse a JWK key (set): ');
    expectFailure('io.jwt.verify_rs256', [tokens.RS256!, 'not a key'], 'eval_builtin_error', 'io.jwt.verify_rs256: failed to parse a JWK key (set): ');
    expectFailure('io.jwt.verify_rs256', [tokens.RS256!, 1 as never], 'eval_type_error', 'io.jwt.verify_rs256: operand 2 must be string but got number');
  });
});

describe('io.jwt.decode_verify', () => {
  it('returns [true, header, payload] for a valid token and keeps claims exact', () => {
    const [valid, header, payload] = decodeVerify(tokens.RS256!, { cert: jwks });
    expect(valid).toBe(true);
    expect(call('object.get', header!, 'alg', null)).toBe('RS256');
    expect(call('object.get', payload!, 'big', null)).toBe(1152921504606847000n); // the JSON text's digits, not a rounded float
    expect(decodeVerify(tokens.HS256!, { secret, alg: 'HS256' })[0]).toBe(true);
  });

  it('checks alg, iss, aud, exp and nbf', async () => {
    const nowSeconds = Number(nowNs / 1_000_000_000n);
    const claims = { iss: 'https://issuer', aud: ['api', 'web'], exp: nowSeconds + 60, nbf: nowSeconds - 60 };
    const token = await sign('ES256', p256.privateKey, claims, { kid: 'ec' });
    expect(decodeVerify(token, { cert: jwks, iss: 'https://issuer', aud: 'api' })[0]).toBe(true);
    expect(decodeVerify(token, { cert: jwks, alg: 'RS256', aud: 'api' })[0]).toBe(false);
    expect(decodeVerify(token, { cert: jwks, iss: 'https://other', aud: 'api' })[0]).toBe(false);
    expect(decodeVerify(token, { cert: jwks, aud: 'admin' })[0]).toBe(false);
    expect(decodeVerify(token, { cert: jwks })[0]).toBe(false);
    expect(decodeVerify(tokens.ES256!, { cert: jwks, aud: 'api' })[0]).toBe(false);
    expect(decodeVerify(tokens.ES256!, { cert: jwks, iss: 'https://issuer' })[0]).toBe(false);
    expect(decodeVerify(token, { cert: jwks, aud: 'api', time: Number(nowNs) + 61e9 })[0]).toBe(false);
    expect(decodeVerify(token, { cert: jwks, aud: 'api', time: Number(nowNs) - 61e9 })[0]).toBe(false);
    expect(registry.get('io.jwt.decode_verify')!.nondeterministic).toBe(true);
    const unverified = decodeVerify(token, { cert: jwks, aud: 'admin' });
    expect(call('equal', makeArray(unverified), v([false, {}, {}]))).toBe(true);
  });

  it('checks the header as OPA does: crit may name only parameters it knows, and their types', () => {
    const hs = (header: Record<string, unknown>, payload: Record<string, unknown> = { sub: 'x' }) => {
      const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
      return `${input}.${base64url.encode(createHmac('sha256', secret).update(input).digest())}`;
    };
    expect(decodeVerify(hs({ alg: 'HS256', crit: ['junk'], junk: 'anything' }), { secret })).toEqual([false, v({}), v({})]);
    expect(decodeVerify(hs({ alg: 'HS256', crit: ['kid'], kid: 'k1' }), { secret })[0]).toBe(true);
    expect(decodeVerify(hs({ alg: 'HS256', junk: 'anything' }), { secret })[0]).toBe(true);
    const fails = (header: Record<string, unknown>, message: string) =>
      expect(() => decodeVerify(hs(header), { secret })).toThrow(`io.jwt.decode_verify: ${message}`);
    fails({ alg: 'HS256', crit: 'junk' }, 'crit: must be a list');
    fails({ alg: 'HS256', crit: [] }, 'crit: must be a nonempty list');
    fails({ alg: 'HS256', kid: 7 }, 'kid: must be a string');
  });

  it('selects JWK Set keys by kid', async () => {
    const token = await sign('RS256', rsa.privateKey, {}, { kid: 'old' });
    expect(decodeVerify(token, { cert: jwks })[0]).toBe(false);
    const current = await sign('RS256', rsa.privateKey, {}, { kid: 'current' });
    expect(decodeVerify(current, { cert: jwks })[0]).toBe(true);
  });

  it('rejects bad constraints and non-numeric time claims', async () => {
    const fail = (constraints: Record<string, unknown>, message: string) =>
      expect(() => decodeVerify(tokens.HS256!, constraints)).toThrow(message);
    fail({}, 'no key constraint');
    fail({ secret, cert: rsaPem }, 'duplicate key constraints');
    fail({ secret, colour: 'blue' }, 'unknown token validation constraint: colour');
    fail({ secret: 1 }, 'secret constraint must be a string');
    const token = await sign('HS256', secretBytes, { exp: 'tomorrow' });
    expect(() => decodeVerify(token, { secret })).toThrow('exp value must be a number');
  });
});

describe('io.jwt.encode_sign', () => {
  it('signs tokens that jose and the verify builtins accept', async () => {
    const privateJwk = await exportJWK(p256.privateKey);
    const token = call('io.jwt.encode_sign', v({ alg: 'ES256', typ: 'JWT' }), v({ sub: 'alice', n: 1 }), v(privateJwk)) as string;
    const { payload } = await jwtVerify(token, p256.publicKey, { algorithms: ['ES256'] });
    expect(payload).toEqual({ n: 1, sub: 'alice' });
    expect(call('io.jwt.verify_es256', token, JSON.stringify(await exportJWK(p256.publicKey)))).toBe(true);

    const rsaToken = call('io.jwt.encode_sign', v({ alg: 'PS256' }), v({ sub: 'bob' }), v(await exportJWK(rsa.privateKey))) as string;
    await jwtVerify(rsaToken, rsa.publicKey, { algorithms: ['PS256'] });
    const edToken = call('io.jwt.encode_sign', v({ alg: 'EdDSA' }), v({}), v(await exportJWK(ed.privateKey))) as string;
    await jwtVerify(edToken, ed.publicKey, { algorithms: ['EdDSA'] });
  });

  it('signs HS tokens with an oct JWK and raw JSON texts', async () => {
    const k = Buffer.from(secret).toString('base64url');
    const token = call('io.jwt.encode_sign_raw', '{"alg":"HS256"}', '{"sub":"carol"}', JSON.stringify({ kty: 'oct', k })) as string;
    expect(token.split('.')[1]).toBe(Buffer.from('{"sub":"carol"}').toString('base64url'));
    expect(call('io.jwt.verify_hs256', token, secret)).toBe(true);
    // A payload that is not JSON only when the header types the token as something else.
    const plain = call('io.jwt.encode_sign_raw', '{"alg":"HS256","typ":"text/plain"}', 'hello', JSON.stringify({ kty: 'oct', k })) as string;
    expect(Buffer.from(plain.split('.')[1]!, 'base64url').toString()).toBe('hello');
    expectFailure('io.jwt.encode_sign_raw', ['{"alg":"HS256","typ":"JWT"}', 'hello', JSON.stringify({ kty: 'oct', k })], 'eval_builtin_error', 'io.jwt.encode_sign_raw: type is JWT but payload is not JSON');
    expectFailure('io.jwt.encode_sign_raw', ['{"alg":"HS256"}', '', JSON.stringify({ kty: 'oct', k })], 'eval_builtin_error', 'type is JWT but payload is not JSON');
    // encode_sign signs the objects' Rego text, keys sorted, as OPA: the same bytes in every OPA.
    const signed = call('io.jwt.encode_sign', v({ typ: 'JWT', alg: 'HS256' }), v({ sub: 'carol', n: [1, 2] }), v({ kty: 'oct', k })) as string;
    expect(Buffer.from(signed.split('.')[0]!, 'base64url').toString()).toBe('{"alg": "HS256", "typ": "JWT"}');
    expect(Buffer.from(signed.split('.')[1]!, 'base64url').toString()).toBe('{"n": [1, 2], "sub": "carol"}');
    expect(call('io.jwt.verify_hs256', signed, secret)).toBe(true);
    const { payload } = await jwtVerify(token, secretBytes);
    expect(payload.sub).toBe('carol');
  });

  it('refuses none, mismatched keys and malformed input', async () => {
    const ecJwk = v(await exportJWK(p256.privateKey));
    expectFailure('io.jwt.encode_sign', [v({ alg: 'none' }), v({}), ecJwk], 'eval_builtin_error', 'alg none is not supported');
    expectFailure('io.jwt.encode_sign', [v({ alg: 'RS256' }), v({}), ecJwk], 'eval_builtin_error', 'unsupported algorithm "RS256" for this key');
    expectFailure('io.jwt.encode_sign', [v({ alg: 'ES384' }), v({}), ecJwk], 'eval_builtin_error', 'unsupported algorithm "ES384"');
    expectFailure('io.jwt.encode_sign', [v({ alg: 'dummy' }), v({}), v({ kty: 'oct', k: 'c2VjcmV0' })], 'eval_builtin_error', 'unknown signature algorithm "dummy"');
    expectFailure('io.jwt.encode_sign', [v({ alg: 'HS1024' }), v({}), v({ kty: 'oct', k: 'c2VjcmV0' })], 'eval_builtin_error', 'unknown signature algorithm "HS1024"');
    expectFailure('io.jwt.encode_sign', [v({ alg: 'HS256' }), v({}), ecJwk], 'eval_builtin_error', 'needs an "oct" JWK');
    expectFailure('io.jwt.encode_sign', [v({}), v({}), ecJwk], 'eval_builtin_error', 'unsupported signature algorithm: the header has no "alg"');
    expectFailure('io.jwt.encode_sign', [v({ alg: 'ES256' }), v({}), v({ kty: 'EC' })], 'eval_builtin_error', 'failed to parse the private JWK');
    expectFailure('io.jwt.encode_sign_raw', ['{', '{}', '{}'], 'eval_builtin_error', 'io.jwt.encode_sign_raw: invalid JSON');
  });
});
