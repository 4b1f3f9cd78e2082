import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import type { Value } from '../../../policies/engine/value.js';
import { call, expectFailure } from './call-builtin.js';

// Throwaway keys, request and certificate made at run time.
function rsaKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    forgePrivate: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string),
    forgePublic: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string),
  };
}

const keys = rsaKeys();
const get = (value: Value | undefined, ...path: (string | number)[]) => call('object.get', value!, path as never, null);
const base64 = (text: string) => Buffer.from(text).toString('base64');

function requestPem(): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = keys.forgePublic;
  csr.setSubject([
    { name: 'commonName', value: 'api.example.com' },
    { name: 'organizationName', value: 'Acme' },
    { name: 'countryName', value: 'US' },
  ]);
  csr.setAttributes([
    {
      name: 'extensionRequest',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'api.example.com' }, { type: 7, ip: '10.1.2.3' }, { type: 6, value: 'spiffe://example.org/api' }, { type: 1, value: 'ops@example.com' }] }],
    },
  ]);
  csr.sign(keys.forgePrivate, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

function certificatePem(subjectKeys: ReturnType<typeof rsaKeys>): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = subjectKeys.forgePublic;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date('2024-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2034-01-01T00:00:00Z');
  cert.setSubject([{ name: 'commonName', value: 'svc' }]);
  cert.setIssuer([{ name: 'commonName', value: 'svc' }]);
  cert.sign(subjectKeys.forgePrivate, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

describe('crypto.x509.parse_certificate_request', () => {
  it('reads subject, algorithms and requested alternative names, from PEM or base64 of PEM', () => {
    const pem = requestPem();
    for (const input of [pem, base64(pem)]) {
      const request = call('crypto.x509.parse_certificate_request', input);
      expect(get(request, 'Subject', 'CommonName')).toBe('api.example.com');
      expect(get(request, 'Subject', 'Organization', 0)).toBe('Acme');
      expect(get(request, 'Subject', 'Country', 0)).toBe('US');
      expect(get(request, 'SignatureAlgorithm')).toBe(4);
      expect(get(request, 'PublicKeyAlgorithm')).toBe(1);
      expect(get(request, 'DNSNames')).toEqual(['api.example.com']);
      expect(get(request, 'IPAddresses')).toEqual(['10.1.2.3']);
      expect(get(request, 'EmailAddresses')).toEqual(['ops@example.com']);
      expect(get(request, 'URIs', 0, 'Scheme')).toBe('spiffe');
    }
  });

  it('reads base64 of DER, and takes text as PEM only when it starts with a CERTIFICATE REQUEST header', () => {
    const der = Buffer.from(forge.pem.decode(requestPem())[0]!.body, 'binary').toString('base64');
    expect(get(call('crypto.x509.parse_certificate_request', der), 'Subject', 'CommonName')).toBe('api.example.com');
    const fails = (text: string) => expectFailure('crypto.x509.parse_certificate_request', [text], 'eval_builtin_error', 'crypto.x509.parse_certificate_request: illegal base64 data at input byte 0');
    fails(certificatePem(keys));
    fails(requestPem().replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST'));
  });

  it('refuses text that holds no request, and a truncated request', () => {
    expectFailure('crypto.x509.parse_certificate_request', ['not a request'], 'eval_builtin_error', 'crypto.x509.parse_certificate_request:');
    expectFailure('crypto.x509.parse_certificate_request', [base64(certificatePem(keys))], 'eval_builtin_error', 'invalid PEM-encoded certificate signing request');
    const truncated = requestPem().replace(/(-----BEGIN CERTIFICATE REQUEST-----\r?\n)(.{40})[\s\S]*(-----END)/, '$1$2\n$3');
    expectFailure('crypto.x509.parse_certificate_request', [truncated], 'eval_builtin_error', 'asn1');
  });
});

describe('crypto.x509.parse_keypair', () => {
  it('gives the chain as base64 DER, the key and the parsed leaf when the key belongs to the leaf', () => {
    const cert = certificatePem(keys);
    for (const [c, k] of [[cert, keys.pkcs8], [base64(cert), base64(keys.pkcs8)]] as const) {
      const pair = call('crypto.x509.parse_keypair', c, k);
      const der = cert.replace(/-----[A-Z ]+-----|\s/g, '');
      expect(get(pair, 'Certificate', 0)).toBe(der);
      expect(get(pair, 'PrivateKey', 'kty')).toBe('RSA');
      expect(get(pair, 'Leaf', 'Subject', 'CommonName')).toBe('svc');
    }
  });

  it("refuses a key that is not the certificate's, and input without a key", () => {
    const other = rsaKeys();
    expectFailure('crypto.x509.parse_keypair', [certificatePem(keys), other.pkcs8], 'eval_builtin_error', 'tls: private key does not match public key');
    expectFailure('crypto.x509.parse_keypair', [certificatePem(keys), certificatePem(keys)], 'eval_builtin_error', 'tls: failed to find any PEM data in key input');
  });
});
