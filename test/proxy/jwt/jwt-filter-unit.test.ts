// The JWT filter in-process (proxy/filters/jwt/jwt-filter.ts): which tokens verify against which
// rule, what a verified token leaves on the exchange, what every refused token is answered, and
// how a remote JWKS is fetched (a real loopback HTTP server).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import type { FilterExchange, HttpFilter } from '../../../proxy/filters/http-filter.js';
import { jwtFilter, workloadAudiences } from '../../../proxy/filters/jwt/jwt-filter.js';
import { SidecarMetrics } from '../../../proxy/telemetry/metrics.js';
import { filterExchange } from '../../helpers/filter-exchange.js';

const ISSUER = 'https://issuer.test';
const OTHER_ISSUER = 'https://other.test';
const SPIFFE = 'spiffe://weft.test/ns/shop/sa/orders';

interface Key {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function esKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
}

let key: Key;
let otherKey: Key;
beforeAll(async () => {
  [key, otherKey] = await Promise.all([esKey('k1'), esKey('k2')]);
});

function sign(signer: Key, options: { issuer?: string | number; audience?: string; expiresAt?: number; kid?: string } = {}): Promise<string> {
  const jwt = new SignJWT({ scope: 'read', iss: options.issuer ?? ISSUER } as Record<string, unknown>)
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? signer.jwk.kid })
    .setSubject('alice')
    .setAudience(options.audience ?? 'orders')
    .setIssuedAt();
  jwt.setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 600);
  return jwt.sign(signer.privateKey);
}

const context = (localPrincipal: string | undefined = SPIFFE) => ({
  direction: 'inbound' as const,
  routesByHost: new Map(),
  defaultRoute: undefined,
  workload: 'orders',
  namespace: 'shop',
  localPrincipal,
  metrics: new SidecarMetrics(),
  logOut: process.stdout,
});

type Rule = Record<string, unknown>;
function filterOf(rules: Rule[], options: Partial<{ minRefreshIntervalMs: number; cacheMaxAgeMs: number; fetchTimeoutMs: number }> = {}, localPrincipal?: string): HttpFilter {
  return jwtFilter.create(
    {
      rules: rules.map((rule) => ({ forwardOriginalToken: false, clockSkewSeconds: 60, allowLoopbackHttpJwks: false, ...rule })),
      minRefreshIntervalMs: 30_000,
      cacheMaxAgeMs: 600_000,
      fetchTimeoutMs: 5_000,
      ...options,
    },
    context(localPrincipal),
  );
}

const inline = (extra: Rule = {}): Rule => ({ issuer: ISSUER, jwks: { keys: [key.jwk] }, ...extra });

const exchange = (headers: string[]): FilterExchange => filterExchange({ requestHeaders: [...headers] });

async function run(filter: HttpFilter, headers: string[]) {
  const request = exchange(headers);
  const outcome = await filter.decodeHeaders!(request);
  return { outcome, request };
}

describe('JWT filter: verified tokens', () => {
  it('verifies a bearer token, hands its claims on as the end user and strips the header', async () => {
    const token = await sign(key);
    const { outcome, request } = await run(filterOf([inline({ audiences: ['orders'] })]), ['authorization', `Bearer ${token}`, 'accept', '*/*']);
    expect(outcome).toBeUndefined();
    expect(request.endUser).toEqual({ issuer: ISSUER, claims: expect.objectContaining({ sub: 'alice', scope: 'read', iss: ISSUER }) });
    expect(request.requestHeaders).toEqual(['accept', '*/*']);
  });

  it('keeps the token header with forwardOriginalToken, and always keeps a cookie header', async () => {
    const token = await sign(key);
    const forwarded = await run(filterOf([inline({ audiences: ['orders'], forwardOriginalToken: true })]), ['authorization', `Bearer ${token}`]);
    expect(forwarded.outcome).toBeUndefined();
    expect(forwarded.request.requestHeaders).toEqual(['authorization', `Bearer ${token}`]);
    const fromCookie = await run(filterOf([inline({ audiences: ['orders'], fromCookies: ['session'] })]), ['cookie', `theme=dark; session=${token}`]);
    expect(fromCookie.outcome).toBeUndefined();
    expect(fromCookie.request.endUser).toMatchObject({ issuer: ISSUER });
    expect(fromCookie.request.requestHeaders).toEqual(['cookie', `theme=dark; session=${token}`]);
  });

  it('lets a request without a token through with no end user', async () => {
    const { outcome, request } = await run(filterOf([inline()]), ['accept', '*/*']);
    expect(outcome).toBeUndefined();
    expect(request.endUser).toBeUndefined();
  });

  it('verifies tokens signed with each asymmetric algorithm JOSE defines (RS, PS, ES at three sizes, EdDSA)', async () => {
    const keyFor = async (alg: string) => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: alg, alg } };
    };
    const algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
    const keys = await Promise.all(algorithms.map(keyFor));
    const filter = filterOf([{ issuer: ISSUER, jwks: { keys: keys.map((k) => k.jwk) }, audiences: ['orders'] }]);
    for (const [index, alg] of algorithms.entries()) {
      const token = await new SignJWT({ iss: ISSUER }).setProtectedHeader({ alg, kid: alg }).setAudience('orders').setExpirationTime('10m').sign(keys[index]!.privateKey);
      const { outcome, request } = await run(filter, ['authorization', `Bearer ${token}`]);
      expect(outcome, alg).toBeUndefined();
      expect(request.endUser, alg).toMatchObject({ issuer: ISSUER });
    }
  });

  it('picks the rule by the token\'s issuer', async () => {
    const filter = filterOf([inline({ audiences: ['orders'] }), { issuer: OTHER_ISSUER, jwks: { keys: [otherKey.jwk] }, audiences: ['orders'] }]);
    const other = await run(filter, ['authorization', `Bearer ${await sign(otherKey, { issuer: OTHER_ISSUER })}`]);
    expect(other.outcome).toBeUndefined();
    expect(other.request.endUser).toMatchObject({ issuer: OTHER_ISSUER });
    const crossed = await run(filter, ['authorization', `Bearer ${await sign(otherKey, { issuer: ISSUER })}`]);
    expect(crossed.outcome).toMatchObject({ code: 'JWT_INVALID', detail: expect.stringMatching(/^token refused \(ERR_/) });
  });
});

describe('JWT filter: refused tokens', () => {
  const refused = async (rules: Rule[], token: string, localPrincipal?: string) => (await run(filterOf(rules, {}, localPrincipal), ['authorization', `Bearer ${token}`])).outcome;

  it('refuses a malformed token and one of an issuer no rule names, or of no issuer', async () => {
    expect(await refused([inline()], 'not.a.jwt')).toEqual({ code: 'JWT_INVALID', detail: 'malformed token' });
    expect(await refused([inline()], await sign(key, { issuer: 'https://evil.test' }))).toEqual({ code: 'JWT_INVALID', detail: 'token issuer is not trusted' });
    expect(await refused([inline({ issuer: '5' })], await sign(key, { issuer: 5 }))).toEqual({ code: 'JWT_INVALID', detail: 'token issuer is not trusted' });
  });

  it('refuses a token signed by a key the rule does not hold, and any token when the rule holds no key', async () => {
    expect(await refused([inline()], await sign(otherKey, { kid: 'k1' }))).toEqual({ code: 'JWT_INVALID', detail: 'token refused (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)' });
    expect(await refused([{ issuer: ISSUER, jwks: { keys: [] } }], await sign(key))).toEqual({ code: 'JWT_INVALID', detail: 'token refused (ERR_JWKS_NO_MATCHING_KEY)' });
  });

  it('refuses an unsigned token (alg none)', async () => {
    const unsigned = new UnsecuredJWT({ iss: ISSUER, aud: 'orders', sub: 'alice' }).setExpirationTime('10m').encode();
    expect(await refused([inline()], unsigned)).toMatchObject({ code: 'JWT_INVALID', detail: expect.stringMatching(/^token refused \(ERR_/) });
  });

  it('refuses a token for an audience the rule does not list', async () => {
    expect(await refused([inline({ audiences: ['billing'] })], await sign(key))).toEqual({ code: 'JWT_INVALID', detail: 'token refused (ERR_JWT_CLAIM_VALIDATION_FAILED)' });
  });

  it('takes, for a rule without audiences, only the names of this workload', async () => {
    for (const audience of [SPIFFE, 'orders', 'orders.shop', 'orders.shop.svc']) {
      expect(await refused([inline()], await sign(key, { audience })), audience).toBeUndefined();
    }
    for (const audience of ['payments', 'orders.other', 'spiffe://weft.test/ns/shop/sa/payments']) {
      expect(await refused([inline()], await sign(key, { audience })), audience).toEqual({ code: 'JWT_INVALID', detail: 'token refused (ERR_JWT_CLAIM_VALIDATION_FAILED)' });
    }
    expect(workloadAudiences({ workload: 'orders', namespace: 'shop', localPrincipal: undefined })).toEqual(['orders', 'orders.shop', 'orders.shop.svc']);
    expect(workloadAudiences({ workload: 'orders', namespace: 'shop', localPrincipal: SPIFFE })).toEqual([SPIFFE, 'orders', 'orders.shop', 'orders.shop.svc']);
  });

  it('allows the rule\'s clock skew past expiry, and no more', async () => {
    const expiredAt = Math.floor(Date.now() / 1000) - 30;
    expect(await refused([inline({ clockSkewSeconds: 120 })], await sign(key, { expiresAt: expiredAt }))).toBeUndefined();
    expect(await refused([inline({ clockSkewSeconds: 0 })], await sign(key, { expiresAt: expiredAt }))).toEqual({ code: 'JWT_INVALID', detail: 'token refused (ERR_JWT_EXPIRED)' });
  });

  it('refuses a symmetric algorithm, even keyed with what the rule holds', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(key.jwk));
    const hs = await new SignJWT({ iss: ISSUER }).setProtectedHeader({ alg: 'HS256' }).setAudience('orders').setExpirationTime('10m').sign(secret);
    const hsJwk = { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'h', alg: 'HS256' };
    expect(await refused([{ issuer: ISSUER, jwks: { keys: [hsJwk] } }], hs)).toEqual({ code: 'JWT_INVALID', detail: 'token refused (ERR_JOSE_ALG_NOT_ALLOWED)' });
  });
});

describe('JWT filter: remote JWKS', () => {
  let served: JWK[] = [];
  let fetches = 0;
  let server: http.Server;
  let uri: string;
  beforeAll(async () => {
    server = http.createServer((_request, response) => {
      fetches++;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches the JWKS and refetches for an unknown key once the cooldown has passed', async () => {
    served = [key.jwk];
    fetches = 0;
    const filter = filterOf([{ issuer: ISSUER, jwksUri: uri, allowLoopbackHttpJwks: true, audiences: ['orders'] }], { minRefreshIntervalMs: 0 });
    expect((await run(filter, ['authorization', `Bearer ${await sign(key)}`])).outcome).toBeUndefined();
    expect(fetches).toBe(1);
    served = [key.jwk, otherKey.jwk];
    expect((await run(filter, ['authorization', `Bearer ${await sign(otherKey)}`])).outcome).toBeUndefined();
    expect(fetches).toBe(2);
  });

  it('keeps a fetched JWKS for cacheMaxAgeMs and no longer', async () => {
    served = [key.jwk];
    fetches = 0;
    const token = await sign(key);
    const cached = filterOf([{ issuer: ISSUER, jwksUri: uri, allowLoopbackHttpJwks: true, audiences: ['orders'] }]);
    await run(cached, ['authorization', `Bearer ${token}`]);
    await run(cached, ['authorization', `Bearer ${token}`]);
    expect(fetches).toBe(1);
    fetches = 0;
    const stale = filterOf([{ issuer: ISSUER, jwksUri: uri, allowLoopbackHttpJwks: true, audiences: ['orders'] }], { cacheMaxAgeMs: 1, minRefreshIntervalMs: 0 });
    await run(stale, ['authorization', `Bearer ${token}`]);
    // Bounded wait for the 1 ms cache age to pass, on the clock jose reads.
    const until = Date.now() + 5;
    while (Date.now() < until);
    expect((await run(stale, ['authorization', `Bearer ${token}`])).outcome).toBeUndefined();
    expect(fetches).toBe(2);
  });

  it('refuses a jwksUri that is not a URL when the filter is built, naming the rule', () => {
    expect(() => filterOf([{ issuer: ISSUER, jwksUri: 'not a url', source: 'RequestAuthentication shop/users' }])).toThrow('RequestAuthentication shop/users: jwksUri "not a url" is not a URL');
    expect(() => filterOf([inline(), { issuer: OTHER_ISSUER, jwksUri: '::' }])).toThrow('rules[1]: jwksUri "::" is not a URL');
  });
});
