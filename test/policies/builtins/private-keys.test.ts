import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toJSON } from '../../../policies/engine/value.js';
import { call, expectFailure } from './call-builtin.js';

// Throwaway keys, made for this test only.
const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaPkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const ecPkcs8 = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

describe('private key builtins', () => {
  it('crypto.x509.parse_rsa_private_key gives the key as a JWK, from PEM or base64 of PEM', () => {
    const expected = rsa.privateKey.export({ format: 'jwk' });
    expect(toJSON(call('crypto.x509.parse_rsa_private_key', rsaPkcs1)!)).toEqual({ ...expected });
    const encoded = Buffer.from(rsaPkcs1).toString('base64');
    expect(toJSON(call('crypto.x509.parse_rsa_private_key', encoded)!)).toMatchObject({ kty: 'RSA', n: expected.n, d: expected.d, qi: expected.qi });
  });

  it('crypto.x509.parse_rsa_private_key refuses bad base64 and empty text, gives null without a key', () => {
    expectFailure('crypto.x509.parse_rsa_private_key', ['invalid'], 'eval_builtin_error', 'illegal base64 data at input byte 4');
    expectFailure('crypto.x509.parse_rsa_private_key', [''], 'eval_builtin_error', 'crypto.x509.parse_rsa_private_key: input PEM data was empty');
    expect(call('crypto.x509.parse_rsa_private_key', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')).toBeNull();
    expectFailure('crypto.x509.parse_rsa_private_key', ['-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----'], 'eval_builtin_error', 'failed to parse private key');
  });

  it('crypto.x509.parse_rsa_private_key gives an EC key as its JWK too, as OPA (jwk.New) does', () => {
    expect(toJSON(call('crypto.x509.parse_rsa_private_key', ecPkcs8)!)).toEqual({ ...ec.privateKey.export({ format: 'jwk' }) });
  });

  it('crypto.parse_private_keys lists every private key block, none for other text, null for empty text', () => {
    const keys = toJSON(call('crypto.parse_private_keys', `${rsaPkcs1}\n${ecPkcs8}`)!) as { kty: string; crv?: string }[];
    expect(keys.map((k) => k.kty)).toEqual(['RSA', 'EC']);
    expect(keys[1]!.crv).toBe('P-256');
    expect(call('crypto.parse_private_keys', 'nope')).toEqual([]);
    expect(call('crypto.parse_private_keys', 'not base64!')).toEqual([]);
    expect(call('crypto.parse_private_keys', Buffer.from(ecPkcs8).toString('base64'))).toHaveLength(1);
    expect(call('crypto.parse_private_keys', '')).toBeNull();
  });
});
