// Builds X.509 certificates with node-forge: self-signed roots and workload leaves (X.509-SVIDs).
// node-forge handles RSA keys only, which is why every weft key is RSA 2048 (see README.md); the
// signatures themselves are made with node:crypto.
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { signWithNodeCrypto } from '../api/x509-signing.js';

const { pki } = forge;

/** How far not-before is set back, so that a peer whose clock is a little behind accepts a new certificate. */
export const BACKDATE_MS = 60_000;

/** 128 random bits, positive (high bit clear) and never starting with a zero byte. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

export interface SigningMaterial {
  readonly certificate: forge.pki.Certificate;
  readonly privateKey: KeyObject;
}

function sign(cert: forge.pki.Certificate, key: KeyObject): string {
  signWithNodeCrypto(cert, key);
  return pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

/** The forge form of an RSA key's public half. */
export function forgePublicKey(key: KeyObject): forge.pki.rsa.PublicKey {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey;
}

function validity(cert: forge.pki.Certificate, now: number, ttlMs: number): void {
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + ttlMs);
}

export function buildRootCertificate(options: {
  privateKeyPem: string;
  commonName: string;
  ttlMs: number;
  now?: number;
}): string {
  const key = createPrivateKey(options.privateKeyPem);
  const cert = pki.createCertificate();
  cert.publicKey = forgePublicKey(key);
  cert.serialNumber = randomSerial();
  validity(cert, options.now ?? Date.now(), options.ttlMs);
  const name = [
    { name: 'organizationName', value: 'weft' },
    { name: 'commonName', value: options.commonName },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return sign(cert, key);
}

export function buildLeafCertificate(options: {
  publicKey: forge.pki.rsa.PublicKey;
  spiffeId: string;
  /** Host names beside the SPIFFE ID, for clients that check a name (only the control plane's own). */
  dnsNames?: readonly string[];
  issuer: SigningMaterial;
  ttlMs: number;
  now?: number;
}): string {
  const cert = pki.createCertificate();
  cert.publicKey = options.publicKey;
  cert.serialNumber = randomSerial();
  validity(cert, options.now ?? Date.now(), options.ttlMs);
  // SPIFFE X.509-SVID: the identity lives in the URI SAN only; with an empty subject the SAN
  // extension must be critical.
  cert.setSubject([]);
  cert.setIssuer(options.issuer.certificate.subject.attributes);
  const issuerKeyId = options.issuer.certificate.generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    {
      name: 'subjectAltName',
      critical: true,
      altNames: [{ type: 6, value: options.spiffeId }, ...(options.dnsNames ?? []).map((value) => ({ type: 2, value }))],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: issuerKeyId },
  ]);
  return sign(cert, options.issuer.privateKey);
}
