// End-user tokens: a rule without `audiences` takes only tokens meant for this workload (its
// SPIFFE ID, name, name.namespace, name.namespace.svc), never one minted for another service;
// a JWKS comes over https, or plain http to loopback only when the rule says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { decodeResource } from '../../control-plane/api/resource-codec.js';
import { validateConfig } from '../../proxy/config/load-config.js';
import { loadFilters } from '../../proxy/filters/registry.js';
import { request } from '../helpers/http-client.js';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { startMeshSidecar, type MeshSidecar } from '../helpers/mesh.js';
import { testConfig } from '../helpers/sidecar.js';
import { echoServer, type TestServer } from '../helpers/upstream.js';

const ISSUER = 'https://issuer.test';
const selfId = 'spiffe://test.local/ns/shop/sa/orders';

let ca: TestCaServer;
let app: TestServer;
let orders: MeshSidecar;
let privateKey: CryptoKey;
let jwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k', alg: 'ES256' };
  ca = await startCaServer();
  app = await echoServer();
  orders = await startMeshSidecar(ca, {
    workload: 'orders',
    namespace: 'shop',
    inbound: {
      port: 0,
      appPort: app.port,
      mtls: 'PERMISSIVE',
      filters: [{ name: 'jwt', config: { rules: [{ issuer: ISSUER, jwks: { keys: [jwk] } }] } }, { name: 'router' }],
    },
  });
});
afterAll(async () => {
  await orders.stop();
  await app.close();
  await ca.close();
});

function token(audience: string | string[] | undefined): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer(ISSUER).setSubject('alice').setExpirationTime('5m');
  return (audience === undefined ? jwt : jwt.setAudience(audience)).sign(privateKey);
}

async function statusWith(audience: string | string[] | undefined): Promise<number> {
  return (await request(orders.inboundPort, { headers: { authorization: `Bearer ${await token(audience)}` } })).status;
}

describe('JWT audience default', () => {
  it("refuses a token minted for another service, or with no audience, under a rule that lists none", async () => {
    expect(await statusWith('billing')).toBe(401);
    expect(await statusWith(['billing', 'spiffe://test.local/ns/shop/sa/billing'])).toBe(401);
    expect(await statusWith(undefined)).toBe(401);
    expect(await statusWith('orders.other')).toBe(401);
  });

  it("takes a token whose audience names this workload: SPIFFE ID, name, name.namespace, name.namespace.svc", async () => {
    for (const audience of [selfId, 'orders', 'orders.shop', 'orders.shop.svc', ['billing', 'orders']]) {
      expect(await statusWith(audience), String(audience)).toBe(200);
    }
  });
});

describe('JWKS URI', () => {
  beforeAll(() => loadFilters(['jwt']));
  const config = (rule: Record<string, unknown>) =>
    validateConfig(testConfig({ inbound: { port: 0, appPort: 1, filters: [{ name: 'jwt', config: { rules: [{ issuer: ISSUER, ...rule }] } }, { name: 'router' }] } }));

  it('refuses plain http, and loopback http without the explicit flag', () => {
    for (const uri of ['http://id.example/jwks', 'http://127.0.0.1:8080/jwks']) expect(() => config({ jwksUri: uri })).toThrow(/jwksUri/);
    for (const uri of ['http://id.example/jwks', 'http://127.0.0.1.evil.example/jwks', 'http://localhost@evil.example/jwks', 'ftp://127.0.0.1/jwks']) {
      expect(() => config({ jwksUri: uri, allowLoopbackHttpJwks: true }), uri).toThrow(/jwksUri/);
    }
  });

  it('takes https, and loopback http with allowLoopbackHttpJwks', () => {
    expect(() => config({ jwksUri: 'https://id.example/jwks' })).not.toThrow();
    for (const uri of ['http://127.0.0.1:8080/jwks', 'http://localhost/jwks', 'http://[::1]:9/jwks']) {
      expect(() => config({ jwksUri: uri, allowLoopbackHttpJwks: true }), uri).not.toThrow();
    }
  });

  it('is checked by the control plane as well', () => {
    const resource = (rule: Record<string, unknown>) =>
      decodeResource({ apiVersion: 'weft.dev/v1alpha1', kind: 'RequestAuthentication', metadata: { name: 'r', namespace: 'shop' }, spec: { jwtRules: [{ issuer: ISSUER, ...rule }] } });
    const refused = resource({ jwksUri: 'http://id.example/jwks' });
    expect(refused.ok).toBe(false);
    expect(JSON.stringify(refused)).toMatch(/jwksUri/);
    expect(resource({ jwksUri: 'http://127.0.0.1/jwks' }).ok).toBe(false);
    expect(resource({ jwksUri: 'http://127.0.0.1/jwks', allowLoopbackHttpJwks: true }).ok).toBe(true);
    expect(resource({ jwksUri: 'https://id.example/jwks' }).ok).toBe(true);
  });
});
