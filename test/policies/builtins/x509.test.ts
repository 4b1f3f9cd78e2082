import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import type { Value } from '../../../policies/engine/value.js';
import { call, callIn, expectFailure, makeContext, v } from './call-builtin.js';

// A throwaway chain made at run time: root CA -> intermediate CA -> SPIFFE leaf.
function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string),
  };
}

function certificate(options: {
  subject: string;
  serial: string;
  keys: ReturnType<typeof keyPair>;
  issuer?: { cert: forge.pki.Certificate; keys: ReturnType<typeof keyPair> };
  ca: boolean;
  altNames?: { type: number; value?: string; ip?: string }[];
  usages?: { serverAuth?: boolean; clientAuth?: boolean };
}) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = options.keys.publicKey;
  cert.serialNumber = options.serial;
  cert.validity.notBefore = new Date('2024-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2034-01-01T00:00:00Z');
  const attrs = [
    { name: 'commonName', value: options.subject },
    { name: 'organizationName', value: 'Acme, Inc.' },
    { name: 'countryName', value: 'US' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : attrs);
  const extensions: object[] = [{ name: 'basicConstraints', cA: options.ca }];
  if (options.altNames) extensions.push({ name: 'subjectAltName', altNames: options.altNames }, { name: 'extKeyUsage', ...(options.usages ?? { serverAuth: true, clientAuth: true }) });
  cert.setExtensions(extensions);
  cert.sign((options.issuer?.keys ?? options.keys).privateKey, forge.md.sha256.create());
  return cert;
}

const rootKeys = keyPair();
const root = certificate({ subject: 'Root CA', serial: '01', keys: rootKeys, ca: true });
const intermediateKeys = keyPair();
const intermediate = certificate({ subject: 'Intermediate CA', serial: '02', keys: intermediateKeys, issuer: { cert: root, keys: rootKeys }, ca: true });
const leaf = certificate({
  subject: 'web',
  serial: '0a1b2c3d4e5f60718293',
  keys: keyPair(),
  issuer: { cert: intermediate, keys: intermediateKeys },
  ca: false,
  altNames: [
    { type: 6, value: 'spiffe://example.org/ns/default/sa/web' },
    { type: 2, value: 'web.local' },
    { type: 7, ip: '10.0.0.1' },
    { type: 1, value: 'ops@example.org' },
  ],
});
const pem = (cert: forge.pki.Certificate) => forge.pki.certificateToPem(cert);
const get = (value: Value | undefined, ...path: (string | number)[]) => call('object.get', value!, path as never, null);
const now = BigInt(Date.parse('2025-06-01T00:00:00Z')) * 1_000_000n;

describe('crypto.x509', () => {
  it('parse_certificates reads PEM chains with Go field names', () => {
    const certs = call('crypto.x509.parse_certificates', pem(leaf) + pem(intermediate)) as readonly Value[];
    expect(certs).toHaveLength(2);
    const [first] = certs;
    expect(get(first, 'Subject', 'CommonName')).toBe('web');
    expect(get(first, 'Subject', 'Organization', 0)).toBe('Acme, Inc.');
    expect(get(first, 'Issuer', 'CommonName')).toBe('Intermediate CA');
    expect(get(first, 'SerialNumber')).toBe(0x0a1b2c3d4e5f60718293n);
    expect(get(first, 'NotBefore')).toBe('2024-01-01T00:00:00Z');
    expect(get(first, 'NotAfter')).toBe('2034-01-01T00:00:00Z');
    expect(get(first, 'IsCA')).toBe(false);
    expect(get(first, 'URIs', 0, 'Scheme')).toBe('spiffe');
    expect(get(first, 'URIs', 0, 'Host')).toBe('example.org');
    expect(get(first, 'URIs', 0, 'Path')).toBe('/ns/default/sa/web');
    expect(get(first, 'DNSNames', 0)).toBe('web.local');
    expect(get(first, 'IPAddresses', 0)).toBe('10.0.0.1');
    expect(get(first, 'EmailAddresses', 0)).toBe('ops@example.org');
    expect(get(first, 'ExtKeyUsage')).toEqual([1, 2]);
    expect(get(first, 'PublicKeyAlgorithm')).toBe(1);
    expect(get(certs[1], 'IsCA')).toBe(true);
    expect(get(certs[1], 'DNSNames')).toBe(null);
  });

  it('parse_certificates accepts base64 of PEM and of concatenated DER', () => {
    const der = (cert: forge.pki.Certificate) => Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
    const fromDer = call('crypto.x509.parse_certificates', Buffer.concat([der(leaf), der(root)]).toString('base64')) as readonly Value[];
    expect(fromDer.map((cert) => get(cert, 'Subject', 'CommonName'))).toEqual(['web', 'Root CA']);
    const fromPem = call('crypto.x509.parse_certificates', Buffer.from(pem(root)).toString('base64')) as readonly Value[];
    expect(get(fromPem[0], 'Subject', 'CommonName')).toBe('Root CA');
  });

  it('parse_certificates reads DER as Go x509.ParseCertificates does: outer SEQUENCEs, in bounds', () => {
    const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(root)).getBytes(), 'binary');
    const malformed = (text: string) => expectFailure('crypto.x509.parse_certificates', [text], 'eval_builtin_error', 'crypto.x509.parse_certificates: x509: malformed certificate');
    malformed('bm90IGEgY2VydA==');
    malformed(der.subarray(0, der.length - 1).toString('base64'));
    malformed(Buffer.concat([der, Buffer.from([0x30])]).toString('base64'));
    malformed('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----');
    expect(call('crypto.x509.parse_certificates', '')).toEqual([]);
    expect(call('crypto.x509.parse_certificates', '-----BEGIN nothing')).toEqual([]);
  });

  it('parse_certificates takes PEM only when the text starts with it, and only CERTIFICATE blocks', () => {
    const key = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n';
    expectFailure('crypto.x509.parse_certificates', [pem(root) + key], 'eval_builtin_error', "PEM block type is 'PUBLIC KEY', expected CERTIFICATE");
    expectFailure('crypto.x509.parse_certificates', [` ${pem(root)}`], 'eval_builtin_error', 'illegal base64 data at input byte 0');
  });

  it('parse_certificates reads text that is not PEM as Go reads base64: strictly, line breaks skipped', () => {
    const fails = (text: string, message: string) => expectFailure('crypto.x509.parse_certificates', [text], 'eval_builtin_error', `crypto.x509.parse_certificates: ${message}`);
    fails('foobar', 'illegal base64 data at input byte 4');
    fails('ab!d', 'illegal base64 data at input byte 2');
    fails('bm90IGEgY2VydA', 'illegal base64 data at input byte 12');
    const wrapped = Buffer.from(pem(root)).toString('base64').replace(/(.{64})/g, '$1\n');
    expect(get((call('crypto.x509.parse_certificates', wrapped) as readonly Value[])[0], 'Subject', 'CommonName')).toBe('Root CA');
  });

  it('parse_and_verify_certificates checks the chain, root first', () => {
    const verify = (text: string, at = now) => callIn(makeContext(at), 'crypto.x509.parse_and_verify_certificates', text) as readonly Value[];
    const [valid, certs] = verify(pem(root) + pem(intermediate) + pem(leaf));
    expect(valid).toBe(true);
    // Go's chain order: leaf first, root last.
    expect((certs as readonly Value[]).map((cert) => get(cert, 'Subject', 'CommonName'))).toEqual(['web', 'Intermediate CA', 'Root CA']);
    expect(get((certs as readonly Value[])[0], 'URIStrings')).toEqual(['spiffe://example.org/ns/default/sa/web']);
    expect(get((certs as readonly Value[])[1], 'URIStrings')).toBe(null);
    // Intermediates in any order between root and leaf; one that signs nothing on the path is left out.
    const spare = certificate({ subject: 'Spare CA', serial: '03', keys: keyPair(), issuer: { cert: root, keys: rootKeys }, ca: true });
    const [unordered, path] = verify(pem(root) + pem(spare) + pem(intermediate) + pem(leaf));
    expect(unordered).toBe(true);
    expect((path as readonly Value[]).map((cert) => get(cert, 'Subject', 'CommonName'))).toEqual(['web', 'Intermediate CA', 'Root CA']);
    expect(verify(pem(leaf) + pem(intermediate) + pem(root))[0]).toBe(false);
    expect(verify(pem(root) + pem(leaf))[0]).toBe(false);
    expect(verify(pem(root) + pem(intermediate) + pem(leaf), BigInt(Date.parse('2040-01-01T00:00:00Z')) * 1_000_000n)[0]).toBe(false);
    const otherRoot = certificate({ subject: 'Root CA', serial: '01', keys: keyPair(), ca: true });
    expect(verify(pem(otherRoot) + pem(intermediate) + pem(leaf))[0]).toBe(false);
    expect(verify('garbage')[0]).toBe(false);
  });

  it('parse_and_verify_certificates_with_options reads Go\'s verify options: host, time, key usages', () => {
    const name = 'crypto.x509.parse_and_verify_certificates_with_options';
    const chain = pem(root) + pem(intermediate) + pem(leaf);
    const verify = (text: string, options: Record<string, unknown>) =>
      (callIn(makeContext(now), name, text, v(options)) as readonly Value[])[0];
    expect(verify(chain, {})).toBe(true);
    expect(verify(chain, { DNSName: 'web.local' })).toBe(true);
    expect(verify(chain, { DNSName: 'other.local' })).toBe(false);
    expect(verify(chain, { DNSName: '10.0.0.1' })).toBe(true);
    expect(verify(chain, { DNSName: 'web' })).toBe(false); // the subject's common name is not a host name (Go)
    expect(verify(chain, { CurrentTime: Number(BigInt(Date.parse('2040-01-01T00:00:00Z')) * 1_000_000n) })).toBe(false);
    expect(verify(chain, { CurrentTime: 1_800_000_000_000_000_000 })).toBe(true);
    expect(verify(chain, { KeyUsages: ['KeyUsageClientAuth'], MaxConstraintComparisons: 10 })).toBe(true);
    expect(verify(chain, { KeyUsages: ['KeyUsageCodeSigning'] })).toBe(false);
    expect(verify(chain, { KeyUsages: ['KeyUsageAny'] })).toBe(true);
    expect(verify('garbage', { Unknown: 1 })).toBe(false);
    const clientOnly = certificate({
      subject: 'client', serial: '0b', keys: keyPair(), issuer: { cert: intermediate, keys: intermediateKeys }, ca: false,
      altNames: [{ type: 2, value: 'client.local' }], usages: { clientAuth: true },
    });
    const clientChain = pem(root) + pem(intermediate) + pem(clientOnly);
    expect(verify(clientChain, {})).toBe(false); // no key usages asked: server authentication, as in Go
    expect(verify(clientChain, { KeyUsages: ['KeyUsageClientAuth'] })).toBe(true);
    expect((callIn(makeContext(now), 'crypto.x509.parse_and_verify_certificates', clientChain) as readonly Value[])[0]).toBe(false);
    const fails = (options: Record<string, unknown>, message: string) =>
      expectFailure(name, [chain, v(options)], 'eval_builtin_error', `${name}: ${message}`);
    fails({ DNSName: 1 }, "'DNSName' should be a string");
    fails({ CurrentTime: 'now' }, "'CurrentTime' should be a number");
    fails({ CurrentTime: 1.5 }, "'CurrentTime' should be a valid int64 number");
    fails({ MaxConstraintComparisons: 'x' }, "'MaxConstraintComparisons' should be a number");
    fails({ KeyUsages: 'KeyUsageAny' }, "'KeyUsages' should be an Array or Set");
    fails({ KeyUsages: ['KeyUsageAny', 'Bogus', 'KeyUsageNope'] }, "invalid entries for 'KeyUsages' found: [Bogus KeyUsageNope]");
    fails({ Unknown: 1 }, 'invalid key option');
    expectFailure(name, [chain, 'x'], 'eval_type_error', `${name}: operand 2 must be object but got string`);
  });
});
