// The certificate authority: signs workload certificates for checked CSRs and holds the trust
// bundle. The bundle may hold several roots so that a root can be rotated with an overlap:
// add the new root (trusted, not yet signing), switch signing to it, later remove the old one.
import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { CONTROL_PLANE_NAMESPACE, isControlPlaneIdentity } from '../api/ca-contract.js';
import { parseWorkloadId, type WorkloadId } from '../api/spiffe-id.js';
import { CaError } from './ca-errors.js';
import { buildLeafCertificate, type SigningMaterial } from './certificate-builder.js';
import { checkCsr } from './csr-check.js';

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const MIN_TTL_MS = 60_000;
export const DEFAULT_TTL_MS = 24 * 3600_000;
const MAX_TTL_MS = 90 * 24 * 3600_000;

export interface CaKeyPair {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** Certificates between the signing certificate and a root, closest first (empty when it is a root). */
  readonly intermediatePems?: readonly string[];
}

export interface CertificateAuthorityOptions {
  readonly trustDomain: string;
  readonly signing: CaKeyPair;
  readonly trustBundlePems: readonly string[];
  /** Lifetime of workload certificates, default 24 h, at least 1 minute. */
  readonly defaultTtlMs?: number;
}

export interface IssuedCertificate {
  readonly spiffeId: string;
  readonly serial: string;
  readonly notAfter: Date;
  /** Leaf first, then the intermediates a TLS peer must present. */
  readonly chainPems: readonly string[];
  readonly trustBundlePems: readonly string[];
}

export function validateTtl(ttlMs: number, what: string): number {
  if (!Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
    throw new CaError('TTL_INVALID', `${what} must be between 1 minute and 90 days, got ${ttlMs} ms`);
  }
  return ttlMs;
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function checkSigning(signing: CaKeyPair, bundle: readonly string[]): SigningMaterial {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(signing.certificatePem);
  } catch (error) {
    throw new CaError('CA_CONFIG_INVALID', `the CA certificate is not valid PEM (${(error as Error).message})`);
  }
  if (!cert.ca) throw new CaError('CA_CONFIG_INVALID', 'the CA certificate is not a CA (basicConstraints cA:false)');
  if (Date.parse(cert.validTo) <= Date.now()) throw new CaError('CA_CONFIG_INVALID', 'the CA certificate has expired');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(signing.privateKeyPem);
  } catch (error) {
    throw new CaError('CA_CONFIG_INVALID', `the CA key is not a private key in PEM (${(error as Error).message})`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new CaError('CA_CONFIG_INVALID', `the CA key must be RSA (node-forge builds the certificates), not ${privateKey.asymmetricKeyType}`);
  }
  if (!cert.checkPrivateKey(privateKey)) throw new CaError('CA_CONFIG_INVALID', 'the CA key does not match the CA certificate');
  let forgeCert: forge.pki.Certificate;
  try {
    forgeCert = forge.pki.certificateFromPem(signing.certificatePem);
  } catch (error) {
    throw new CaError('CA_CONFIG_INVALID', `the CA certificate must carry an RSA key (${(error as Error).message})`);
  }
  // The signing certificate must lead, through the given intermediates, to a root in the bundle.
  const path = [cert, ...(signing.intermediatePems ?? []).map((pem) => new X509Certificate(pem))];
  const roots = bundle.map((pem) => new X509Certificate(pem));
  for (let i = 0; i + 1 < path.length; i++) {
    const [child, parent] = [path[i] as X509Certificate, path[i + 1] as X509Certificate];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw new CaError('CA_CONFIG_INVALID', 'the CA chain is out of order or not signed link by link');
    }
  }
  const top = path[path.length - 1] as X509Certificate;
  const anchored = roots.some(
    (root) => top.fingerprint256 === root.fingerprint256 || (top.checkIssued(root) && top.verify(root.publicKey)),
  );
  if (!anchored) throw new CaError('CA_CONFIG_INVALID', 'the CA certificate does not chain to a root in the trust bundle');
  return { certificate: forgeCert, privateKey };
}

export class CertificateAuthority extends EventEmitter<{ bundle: [readonly string[]]; signing: [] }> {
  readonly trustDomain: string;
  readonly defaultTtlMs: number;
  private signingPair: CaKeyPair;
  private signing: SigningMaterial;
  private intermediates: readonly string[];
  private notAfter: number;
  private bundle: readonly string[];

  constructor(options: CertificateAuthorityOptions) {
    super();
    parseWorkloadId(`spiffe://${options.trustDomain}/ns/x/sa/x`);
    this.trustDomain = options.trustDomain;
    this.defaultTtlMs = validateTtl(options.defaultTtlMs ?? DEFAULT_TTL_MS, 'the default certificate lifetime');
    if (options.trustBundlePems.length === 0) throw new CaError('CA_CONFIG_INVALID', 'the trust bundle is empty');
    this.bundle = Object.freeze([...options.trustBundlePems]);
    this.signingPair = options.signing;
    this.signing = checkSigning(options.signing, this.bundle);
    this.intermediates = Object.freeze(this.intermediatesOf(options.signing));
    this.notAfter = this.signing.certificate.validity.notAfter.getTime();
  }

  get trustBundlePems(): readonly string[] {
    return this.bundle;
  }

  /** The certificate that signs workload certificates now. */
  get signingCertificatePem(): string {
    return this.signingPair.certificatePem;
  }

  /** Signs a CSR for `boundId`, the identity the caller's credential proved. */
  issueForCsr(csrPem: string, boundId: string, ttlMs?: number): IssuedCertificate {
    const { publicKey, requestedId } = checkCsr(csrPem);
    if (isControlPlaneIdentity(requestedId)) {
      throw new CaError('IDENTITY_RESERVED', `${requestedId.uri} is in the control plane's namespace ${CONTROL_PLANE_NAMESPACE}; no certificate is issued for it`);
    }
    if (requestedId.uri !== boundId) {
      throw new CaError('IDENTITY_MISMATCH', `the credential is bound to ${boundId}, the CSR asks for ${requestedId.uri}`);
    }
    return this.issueForKey(publicKey, requestedId, ttlMs);
  }

  issueForKey(publicKey: forge.pki.rsa.PublicKey, id: WorkloadId, ttlMs?: number, dnsNames?: readonly string[]): IssuedCertificate {
    if (id.trustDomain !== this.trustDomain) {
      throw new CaError('IDENTITY_MISMATCH', `${id.uri} is outside the trust domain ${this.trustDomain}`);
    }
    const requested = ttlMs === undefined ? this.defaultTtlMs : validateTtl(ttlMs, 'the requested lifetime');
    const now = Date.now();
    // A leaf never outlives the certificate that signs it.
    const lifetime = Math.min(requested, this.defaultTtlMs, this.notAfter - now);
    const leafPem = buildLeafCertificate({ publicKey, spiffeId: id.uri, ...(dnsNames === undefined ? {} : { dnsNames }), issuer: this.signing, ttlMs: lifetime, now });
    const leaf = new X509Certificate(leafPem);
    return Object.freeze({
      spiffeId: id.uri,
      serial: leaf.serialNumber,
      notAfter: new Date(leaf.validTo),
      chainPems: Object.freeze([leafPem, ...this.intermediates]),
      trustBundlePems: this.bundle,
    });
  }

  /** Trusts another root beside the current ones (first step of a root rotation). */
  addRoot(rootPem: string): void {
    const root = new X509Certificate(rootPem);
    if (!root.ca || !root.verify(root.publicKey)) throw new CaError('CA_CONFIG_INVALID', 'a trust-bundle root must be a self-signed CA');
    if (this.bundle.some((pem) => fingerprint(pem) === root.fingerprint256)) return;
    this.setBundle([...this.bundle, rootPem]);
  }

  /** Signs from now on with another CA key pair, which must chain to a root already trusted. */
  useSigning(signing: CaKeyPair): void {
    this.signing = checkSigning(signing, this.bundle);
    this.signingPair = signing;
    this.intermediates = Object.freeze(this.intermediatesOf(signing));
    this.notAfter = this.signing.certificate.validity.notAfter.getTime();
    this.emit('signing');
  }

  /** Stops trusting a root (last step of a rotation); the root that signs now cannot be removed. */
  removeRoot(rootPem: string): void {
    const target = fingerprint(rootPem);
    const remaining = this.bundle.filter((pem) => fingerprint(pem) !== target);
    try {
      checkSigning(this.signingPair, remaining);
    } catch {
      throw new CaError('CA_CONFIG_INVALID', 'the CA still signs with this root: switch signing before removing it');
    }
    this.setBundle(remaining);
  }

  /**
   * Moves to the signing pair and roots of a CA directory edited by an operator, in the order
   * that keeps every certificate verifiable: new roots first, then signing, then removals. The
   * whole state is checked first, so a refused one changes nothing.
   */
  reconcile(signing: CaKeyPair, trustBundlePems: readonly string[]): void {
    if (trustBundlePems.length === 0) throw new CaError('CA_CONFIG_INVALID', 'the trust bundle is empty');
    for (const pem of trustBundlePems) {
      const root = new X509Certificate(pem);
      if (!root.ca || !root.verify(root.publicKey)) throw new CaError('CA_CONFIG_INVALID', 'a trust-bundle root must be a self-signed CA');
    }
    checkSigning(signing, trustBundlePems);
    for (const pem of trustBundlePems) this.addRoot(pem);
    if (!isDeepStrictEqual(signing, this.signingPair)) this.useSigning(signing);
    const kept = new Set(trustBundlePems.map(fingerprint));
    for (const pem of this.bundle) if (!kept.has(fingerprint(pem))) this.removeRoot(pem);
  }

  private intermediatesOf(signing: CaKeyPair): string[] {
    const isRoot = this.bundle.some((pem) => fingerprint(pem) === fingerprint(signing.certificatePem));
    return [...(isRoot ? [] : [signing.certificatePem]), ...(signing.intermediatePems ?? [])].filter(
      (pem) => !this.bundle.some((root) => fingerprint(root) === fingerprint(pem)),
    );
  }

  private setBundle(bundle: string[]): void {
    this.bundle = Object.freeze(bundle);
    this.emit('bundle', this.bundle);
  }
}
