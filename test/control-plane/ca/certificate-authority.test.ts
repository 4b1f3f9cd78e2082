import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../control-plane/ca/certificate-authority.js';
import { BACKDATE_MS } from '../../../control-plane/ca/certificate-builder.js';
import { createCsr, createWorkloadKey } from '../../../proxy/tls/workload-key.js';
import { rsaKeyPem, testId, throwawayCa, throwawayIntermediate, throwawayRoot } from '../../helpers/throwaway-ca.js';

const { ca, root } = throwawayCa();

describe('CertificateAuthority leaf issuing', () => {
  it('issues an X.509-SVID: empty subject, one critical URI SAN, key usages, EKUs, backdated, 24 h by default', async () => {
    const id = testId('web', 'shop');
    const key = await createWorkloadKey(id);
    const before = Date.now();
    const issued = ca.issueForCsr(key.csrPem, id);
    const leaf = new X509Certificate(issued.chainPems[0] as string);
    expect(leaf.subject ?? '').toBe('');
    expect(leaf.subjectAltName).toBe(`URI:${id}`);
    expect(leaf.ca).toBe(false);
    expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(leaf.checkIssued(new X509Certificate(root.certificatePem))).toBe(true);
    expect(leaf.verify(new X509Certificate(root.certificatePem).publicKey)).toBe(true);
    const notBefore = Date.parse(leaf.validFrom);
    const notAfter = Date.parse(leaf.validTo);
    expect(notBefore).toBeLessThanOrEqual(before - BACKDATE_MS + 1000);
    expect(notBefore).toBeGreaterThan(before - BACKDATE_MS - 2000);
    expect(notAfter - before).toBeGreaterThan(24 * 3600_000 - 2000);
    expect(notAfter - before).toBeLessThanOrEqual(24 * 3600_000 + 1000);
    expect(issued.chainPems).toHaveLength(1);
    expect(issued.trustBundlePems).toEqual([root.certificatePem]);
    expect(issued.serial).toBe(leaf.serialNumber);
  });

  it('marks the key usages digitalSignature and keyEncipherment as critical (checked with forge parsing)', async () => {
    const id = testId('ku');
    const issued = ca.issueForCsr((await createWorkloadKey(id)).csrPem, id);
    const cert = forge.pki.certificateFromPem(issued.chainPems[0] as string);
    const keyUsage = cert.getExtension('keyUsage') as { critical: boolean; digitalSignature: boolean; keyEncipherment: boolean; keyCertSign: boolean };
    expect(keyUsage).toMatchObject({ critical: true, digitalSignature: true, keyEncipherment: true, keyCertSign: false });
    expect(cert.getExtension('subjectAltName')).toMatchObject({ critical: true });
  });

  it('gives every certificate a different random positive serial', async () => {
    const id = testId('serials');
    const key = await createWorkloadKey(id);
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) serials.add(ca.issueForCsr(key.csrPem, id).serial);
    expect(serials.size).toBe(20);
    for (const serial of serials) {
      expect(serial).toMatch(/^[0-9A-F]{32}$/);
      expect(Number.parseInt(serial.slice(0, 2), 16)).toBeGreaterThanOrEqual(0x40);
      expect(Number.parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
    }
  });

  it('honours a configured default TTL down to one minute and a shorter requested TTL', async () => {
    const short = new CertificateAuthority({ trustDomain: 'test.local', signing: root, trustBundlePems: [root.certificatePem], defaultTtlMs: 60_000 });
    const id = testId('short');
    const key = await createWorkloadKey(id);
    const leaf = new X509Certificate(short.issueForCsr(key.csrPem, id).chainPems[0] as string);
    expect(Date.parse(leaf.validTo) - Date.now()).toBeLessThanOrEqual(60_000);
    expect(Date.parse(leaf.validTo) - Date.now()).toBeGreaterThan(55_000);
    const requested = new X509Certificate(ca.issueForCsr(key.csrPem, id, 120_000).chainPems[0] as string);
    expect(Date.parse(requested.validTo) - Date.now()).toBeLessThanOrEqual(120_000);
    expect(Date.parse(requested.validTo) - Date.now()).toBeGreaterThan(115_000);
  });

  it('refuses lifetimes under one minute, both configured and requested', async () => {
    expect(() => new CertificateAuthority({ trustDomain: 'test.local', signing: root, trustBundlePems: [root.certificatePem], defaultTtlMs: 59_000 })).toThrow(/TTL_INVALID/);
    const id = testId('ttl');
    const key = await createWorkloadKey(id);
    expect(() => ca.issueForCsr(key.csrPem, id, 30_000)).toThrow(/TTL_INVALID/);
  });

  it('refuses a CSR for another identity than the credential is bound to', async () => {
    const key = await createWorkloadKey(testId('admin'));
    expect(() => ca.issueForCsr(key.csrPem, testId('web'))).toThrow(/IDENTITY_MISMATCH/);
  });

  it('refuses identities outside its trust domain', async () => {
    const id = 'spiffe://other.domain/ns/default/sa/web';
    const key = await createWorkloadKey(id);
    expect(() => ca.issueForCsr(key.csrPem, id)).toThrow(/IDENTITY_MISMATCH.*trust domain/);
  });
});

describe('CSR checks', () => {
  it('refuses garbage, a tampered or SHA-1 signature, a non-workload SAN and a missing SAN', async () => {
    const id = testId('csr');
    expect(() => ca.issueForCsr('', id)).toThrow(/CSR_INVALID/);
    expect(() => ca.issueForCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', id)).toThrow(/CSR_INVALID/);
    const keyPem = rsaKeyPem();
    const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
    const bare = forge.pki.createCertificationRequest();
    bare.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    bare.sign(key, forge.md.sha256.create());
    expect(() => ca.issueForCsr(forge.pki.certificationRequestToPem(bare), id)).toThrow(/exactly one subject alternative name/);
    const sha1 = forge.pki.createCertificationRequest();
    sha1.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    sha1.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 6, value: id }] }] }]);
    sha1.sign(key, forge.md.sha1.create());
    expect(() => ca.issueForCsr(forge.pki.certificationRequestToPem(sha1), id)).toThrow(/signature does not verify/);
    sha1.sign(key, forge.md.sha256.create());
    expect(ca.issueForCsr(forge.pki.certificationRequestToPem(sha1), id).spiffeId).toBe(id);
    expect(() => ca.issueForCsr(createCsr(keyPem, 'spiffe://test.local/../etc'), id)).toThrow(/CSR_INVALID.*relative/);
    // Flip the last byte of the signature: the self-signature no longer verifies.
    const der = Buffer.from(createCsr(keyPem, id).replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    der[der.length - 1] = (der[der.length - 1] as number) ^ 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => ca.issueForCsr(tampered, id)).toThrow(/signature does not verify/);
  });

  it('refuses RSA keys under 2048 bits', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const id = testId('small');
    expect(() => ca.issueForCsr(createCsr(small, id), id)).toThrow(/at least 2048 bits/);
  });
});

describe('plug-in CA and trust bundle', () => {
  it('signs with a plugged-in intermediate and returns it in the chain', async () => {
    const pluggedRoot = throwawayRoot('corp root');
    const intermediate = throwawayIntermediate(pluggedRoot);
    const plugged = new CertificateAuthority({ trustDomain: 'test.local', signing: intermediate, trustBundlePems: [pluggedRoot.certificatePem] });
    const id = testId('api');
    const issued = plugged.issueForCsr((await createWorkloadKey(id)).csrPem, id);
    expect(issued.chainPems).toEqual([expect.any(String), intermediate.certificatePem]);
    const leaf = new X509Certificate(issued.chainPems[0] as string);
    expect(leaf.verify(new X509Certificate(intermediate.certificatePem).publicKey)).toBe(true);
  });

  it('refuses a CA whose key does not match, that is no CA, or that does not chain to the bundle', async () => {
    const other = throwawayRoot('other');
    expect(() => new CertificateAuthority({ trustDomain: 'test.local', signing: { ...root, privateKeyPem: other.privateKeyPem }, trustBundlePems: [root.certificatePem] })).toThrow(/does not match/);
    expect(() => new CertificateAuthority({ trustDomain: 'test.local', signing: root, trustBundlePems: [other.certificatePem] })).toThrow(/does not chain/);
    const ecKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => new CertificateAuthority({ trustDomain: 'test.local', signing: { ...root, privateKeyPem: ecKeyPem }, trustBundlePems: [root.certificatePem] })).toThrow(/must be RSA/);
    const id = testId('leaf-as-ca');
    const key = await createWorkloadKey(id);
    const leafPem = ca.issueForCsr(key.csrPem, id).chainPems[0] as string;
    expect(() => new CertificateAuthority({ trustDomain: 'test.local', signing: { certificatePem: leafPem, privateKeyPem: key.privateKeyPem }, trustBundlePems: [root.certificatePem] })).toThrow(/not a CA/);
  });

  it('rotates roots with an overlap: add, switch signing, then remove the old root', async () => {
    const { ca: rotating, root: oldRoot } = throwawayCa();
    const newRoot = throwawayRoot('new root');
    const changes: (readonly string[])[] = [];
    rotating.on('bundle', (bundle) => changes.push(bundle));
    expect(() => rotating.useSigning(newRoot)).toThrow(/does not chain/);
    rotating.addRoot(newRoot.certificatePem);
    expect(rotating.trustBundlePems).toEqual([oldRoot.certificatePem, newRoot.certificatePem]);
    expect(() => rotating.removeRoot(oldRoot.certificatePem)).toThrow(/still signs/);
    rotating.useSigning(newRoot);
    const id = testId('rot');
    const leaf = new X509Certificate(rotating.issueForCsr((await createWorkloadKey(id)).csrPem, id).chainPems[0] as string);
    expect(leaf.verify(new X509Certificate(newRoot.certificatePem).publicKey)).toBe(true);
    rotating.removeRoot(oldRoot.certificatePem);
    expect(rotating.trustBundlePems).toEqual([newRoot.certificatePem]);
    expect(changes).toHaveLength(2);
  });
});
