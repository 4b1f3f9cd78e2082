// End-user JWTs at the sidecar: verified with keys from a JWKS served by a real loopback HTTP
// server (or inline), claims handed to the authz filter's input, bad tokens refused with 401.
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import { request } from '../../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../../helpers/sidecar.js';
import { echoServer, headerValues, listen, type EchoReply, type TestServer } from '../../helpers/upstream.js';

const ISSUER = 'https://issuer.test';
const INLINE_ISSUER = 'https://inline.test';

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function rsaKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

let app: TestServer;
let jwksServer: TestServer;
let servedKeys: JWK[] = [];
let jwksFetches = 0;
let key1: Key;
let key2: Key;
let inlineKey: Key;
const sidecars: InProcessSidecar[] = [];

function token(key: Key, claims: Record<string, unknown> = {}, options: { issuer?: string; audience?: string; expiresAt?: number } = {}): Promise<string> {
  return new SignJWT({ scope: 'orders:read', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuer(options.issuer ?? ISSUER)
    .setSubject('alice')
    .setAudience(options.audience ?? 'orders')
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 300)
    .sign(key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function sidecar(minRefreshIntervalMs: number): Promise<InProcessSidecar> {
  const policy = {
    name: 'echo-jwt',
    targets: { workloads: ['test-app'] },
    entrypoint: 'data.me.decision',
    modules: [{ name: 'me.rego', rego: 'package me\nimport rego.v1\ndecision := {"allowed": true, "headers": {"x-jwt": json.marshal(input.weft.jwt)}}\n' }],
  };
  const started = await startSidecar({
    accessLog: { mode: 'off' },
    inbound: {
      port: 0,
      appPort: app.port,
      filters: [
        {
          name: 'jwt',
          config: {
            minRefreshIntervalMs,
            rules: [
              { issuer: ISSUER, audiences: ['orders'], jwksUri: `http://127.0.0.1:${jwksServer.port}/jwks.json`, allowLoopbackHttpJwks: true, fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }, { name: 'x-token' }], fromCookies: ['session'], clockSkewSeconds: 5 },
              { issuer: INLINE_ISSUER, jwks: { keys: [inlineKey.jwk] } },
            ],
          },
        },
        { name: 'authz', config: { policies: [policy] } },
        { name: 'router' },
      ],
    },
  });
  sidecars.push(started);
  return started;
}

beforeAll(async () => {
  [key1, key2, inlineKey] = await Promise.all([rsaKey('k1'), rsaKey('k2'), rsaKey('inline')]);
  servedKeys = [key1.jwk];
  app = await echoServer();
  jwksServer = await listen(
    http.createServer((_req, res) => {
      jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: servedKeys }));
    }),
  );
});
afterAll(async () => {
  for (const s of sidecars) await s.stop();
  await jwksServer.close();
  await app.close();
});

async function call(port: number, headers: Record<string, string>) {
  const reply = await request(port, { headers });
  const seen = reply.status === 200 ? (JSON.parse(reply.body) as EchoReply) : undefined;
  return { reply, seen, jwt: seen === undefined ? undefined : (JSON.parse(headerValues(seen, 'x-jwt')[0] ?? 'null') as { issuer: string; claims: Record<string, unknown> } | null) };
}

describe('jwt filter', () => {
  let s: InProcessSidecar;
  beforeAll(async () => {
    s = await sidecar(0);
  });

  it('verifies a valid token, hands its claims to policies and strips it upstream', async () => {
    const { reply, seen, jwt } = await call(s.inboundPort, { authorization: `Bearer ${await token(key1)}` });
    expect(reply.status).toBe(200);
    expect(jwt?.issuer).toBe(ISSUER);
    expect(jwt?.claims).toMatchObject({ sub: 'alice', scope: 'orders:read', aud: 'orders' });
    expect(headerValues(seen!, 'authorization')).toEqual([]);
  });

  it('takes the token from another header, a cookie, or an inline JWKS', async () => {
    const fromHeader = await call(s.inboundPort, { 'x-token': await token(key1) });
    expect(fromHeader.reply.status).toBe(200);
    expect(fromHeader.jwt?.claims.sub).toBe('alice');
    const cookie = await call(s.inboundPort, { cookie: `theme=dark; session=${await token(key1)}` });
    expect(cookie.jwt?.issuer).toBe(ISSUER);
    expect(headerValues(cookie.seen!, 'cookie')).toHaveLength(1);
    // The inline rule lists no audiences: its tokens must name this workload.
    const inline = await call(s.inboundPort, { authorization: `Bearer ${await token(inlineKey, {}, { issuer: INLINE_ISSUER, audience: 'test-app' })}` });
    expect(inline.jwt?.issuer).toBe(INLINE_ISSUER);
  });

  it('lets a request without a token through with no end user', async () => {
    const { reply, jwt } = await call(s.inboundPort, {});
    expect(reply.status).toBe(200);
    expect(jwt).toBeNull();
  });

  it('refuses expired tokens, wrong audiences and untrusted issuers with 401 JWT_INVALID', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    for (const bad of [
      await token(key1, {}, { expiresAt: past }),
      await token(key1, {}, { audience: 'billing' }),
      await token(key1, {}, { issuer: 'https://evil.test' }),
      'not.a.token',
    ]) {
      const { reply } = await call(s.inboundPort, { authorization: `Bearer ${bad}` });
      expect(reply.status).toBe(401);
      expect(reply.headers['x-weft-error']).toBe('JWT_INVALID');
    }
  });

  it('tolerates the configured clock skew', async () => {
    const { reply } = await call(s.inboundPort, { authorization: `Bearer ${await token(key1, {}, { expiresAt: Math.floor(Date.now() / 1000) - 2 })}` });
    expect(reply.status).toBe(200);
  });

  it('refuses alg none and an HS256 token signed with the RSA public key', async () => {
    const claims = { iss: ISSUER, aud: 'orders', sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 300 };
    const none = `${b64({ alg: 'none', kid: 'k1' })}.${b64(claims)}.`;
    const signingInput = `${b64({ alg: 'HS256', kid: 'k1' })}.${b64(claims)}`;
    const pem = await exportSPKI(key1.publicKey);
    const confused = `${signingInput}.${createHmac('sha256', pem).update(signingInput).digest('base64url')}`;
    const jwkSecret = `${signingInput}.${createHmac('sha256', JSON.stringify(key1.jwk)).update(signingInput).digest('base64url')}`;
    for (const bad of [none, confused, jwkSecret]) {
      const { reply } = await call(s.inboundPort, { authorization: `Bearer ${bad}` });
      expect(reply.status).toBe(401);
    }
  });

  it('refreshes the JWKS on an unknown kid (key rotation)', async () => {
    servedKeys = [key1.jwk];
    expect((await call(s.inboundPort, { authorization: `Bearer ${await token(key1)}` })).reply.status).toBe(200);
    servedKeys = [key1.jwk, key2.jwk];
    const before = jwksFetches;
    expect((await call(s.inboundPort, { authorization: `Bearer ${await token(key2)}` })).reply.status).toBe(200);
    expect(jwksFetches).toBe(before + 1);
  });
});

describe('jwt filter with a minimum refresh interval', () => {
  it('does not refetch the JWKS for unknown kids within the interval', async () => {
    servedKeys = [key1.jwk];
    const s = await sidecar(60_000);
    const before = jwksFetches;
    expect((await call(s.inboundPort, { authorization: `Bearer ${await token(key1)}` })).reply.status).toBe(200);
    expect(jwksFetches).toBe(before + 1);
    servedKeys = [key1.jwk, key2.jwk];
    for (let i = 0; i < 5; i++) {
      const forged = await token({ ...key2, kid: `flood-${i}` });
      expect((await call(s.inboundPort, { authorization: `Bearer ${forged}` })).reply.status).toBe(401);
    }
    expect(jwksFetches).toBe(before + 1);
  });
});
