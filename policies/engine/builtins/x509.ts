// crypto.x509.parse_certificates and crypto.x509.parse_and_verify_certificates(_with_options) on
// Node's X509 parser. The result keeps the field names of Go's x509.Certificate that policies read (Subject,
// Issuer, NotBefore, NotAfter, SerialNumber, DNSNames, URIs, IPAddresses, EmailAddresses, IsCA,
// ExtKeyUsage, PublicKeyAlgorithm, Version, Raw), plus OPA's URIStrings; the rest of Go's
// structure is not reproduced.
import { X509Certificate } from 'node:crypto';
import { compare, isNumber, isSet, makeArray, makeObject, normalizeNumber, type RegoObject, type Value } from '../value.js';
import { goBase64Operand } from './encoding.js';
import { pemBlocks } from './pem-blocks.js';
import { builtinError, define, isInteger } from './support.js';

/** Certificates in one argument, as OPA accepts them: PEM, or base64 of PEM or of DER. */
export function certificateBuffers(name: string, text: string): Buffer[] {
  // OPA's getX509CertsFromString: PEM when the text starts as PEM, else Go's strict StdEncoding
  // base64 of PEM or of DER (bad base64 is Go's `illegal base64 data at input byte N`).
  if (text.startsWith('-----BEGIN')) return pemCertificates(name, text);
  const decoded = goBase64Operand(name, text);
  if (decoded.toString('latin1', 0, 10) === '-----BEGIN') return pemCertificates(name, decoded.toString('latin1'));
  return splitDer(name, decoded);
}

/** OPA's getX509CertsFromPem: every block must be a CERTIFICATE; their DER is read as one. */
function pemCertificates(name: string, text: string): Buffer[] {
  const der: Buffer[] = [];
  for (const block of pemBlocks(text)) {
    if (block.type !== 'CERTIFICATE') throw builtinError(name, `PEM block type is '${block.type}', expected CERTIFICATE`);
    der.push(block.der);
  }
  return splitDer(name, Buffer.concat(der));
}

/**
 * Concatenated DER certificates, split by their outer SEQUENCE lengths as Go's x509.ParseCertificates
 * reads them: an outer element that is not a SEQUENCE of a minimal, in-bounds length is
 * `x509: malformed certificate`; no bytes at all are no certificates (not an error).
 */
function splitDer(name: string, der: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < der.length) {
    const end = outerSequenceEnd(der, offset);
    if (end === undefined) throw builtinError(name, 'x509: malformed certificate');
    out.push(der.subarray(offset, end));
    offset = end;
  }
  return out;
}

function outerSequenceEnd(der: Buffer, offset: number): number | undefined {
  if (der[offset] !== 0x30 || offset + 2 > der.length) return undefined;
  let length = der[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || offset + 2 + bytes > der.length || der[offset + 2] === 0) return undefined;
    length = der.readUIntBE(offset + 2, bytes);
    if (length < 0x80) return undefined;
    header += bytes;
  }
  const end = offset + header + length;
  return end > der.length ? undefined : end;
}

export function parseCertificates(name: string, buffers: readonly Buffer[]): X509Certificate[] {
  return buffers.map((buffer) => {
    try {
      return new X509Certificate(buffer);
    } catch (error) {
      throw builtinError(name, `failed to parse certificate: ${(error as Error).message}`);
    }
  });
}

const nameFields: Record<string, string> = {
  C: 'Country',
  O: 'Organization',
  OU: 'OrganizationalUnit',
  L: 'Locality',
  ST: 'Province',
  street: 'StreetAddress',
  postalCode: 'PostalCode',
};

/** Node's distinguished name text ("C=US\nO=Acme\, Inc.\nCN=x") as Go's pkix.Name fields. */
export function distinguishedName(text: string | undefined): Value {
  const fields = new Map<string, string[]>();
  let commonName = '';
  let serial = '';
  for (const line of (text ?? '').split('\n')) {
    const equals = line.indexOf('=');
    if (equals === -1) continue;
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1).replace(/\\(.)/g, '$1');
    if (key === 'CN') commonName = value;
    else if (key === 'serialNumber') serial = value;
    else if (nameFields[key] !== undefined) fields.set(nameFields[key]!, [...(fields.get(nameFields[key]!) ?? []), value]);
  }
  const entries: [string, Value][] = Object.values(nameFields).map((field) => [field, fields.has(field) ? makeArray(fields.get(field)!) : null]);
  entries.push(['SerialNumber', serial], ['CommonName', commonName]);
  return makeObject(entries);
}

/** Node's subjectAltName text: "DNS:a, URI:spiffe://x, IP Address:1.2.3.4" (values may be JSON-quoted). */
export function alternativeNames(text: string | undefined): Map<string, string[]> {
  const names = new Map<string, string[]>();
  const pattern = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/gy;
  for (const match of (text ?? '').matchAll(pattern)) {
    const raw = match[2]!;
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    names.set(match[1]!, [...(names.get(match[1]!) ?? []), value]);
  }
  return names;
}

/** A URI as Go's url.URL marshals it (the fields policies use). */
export function uriValue(text: string): Value {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  return makeObject([
    ['Scheme', url ? url.protocol.replace(/:$/, '') : ''],
    ['Opaque', ''],
    ['User', null],
    ['Host', url ? url.host : ''],
    ['Path', url ? decodeURIComponent(url.pathname) : text],
    ['RawPath', ''],
    ['ForceQuery', false],
    ['RawQuery', url ? url.search.replace(/^\?/, '') : ''],
    ['Fragment', url ? decodeURIComponent(url.hash.replace(/^#/, '')) : ''],
    ['RawFragment', ''],
  ]);
}

// Go's x509.ExtKeyUsage numbers by OID, and the names OPA's options give them.
const extKeyUsages: Record<string, number> = {
  '2.5.29.37.0': 0,
  '1.3.6.1.5.5.7.3.1': 1,
  '1.3.6.1.5.5.7.3.2': 2,
  '1.3.6.1.5.5.7.3.3': 3,
  '1.3.6.1.5.5.7.3.4': 4,
  '1.3.6.1.5.5.7.3.5': 5,
  '1.3.6.1.5.5.7.3.6': 6,
  '1.3.6.1.5.5.7.3.7': 7,
  '1.3.6.1.5.5.7.3.8': 8,
  '1.3.6.1.5.5.7.3.9': 9,
  '1.3.6.1.4.1.311.10.3.3': 10,
  '2.16.840.1.113730.4.1': 11,
  '1.3.6.1.4.1.311.2.1.22': 12,
  '1.3.6.1.4.1.311.61.1.1': 13,
};
const keyUsageNames = [
  'Any', 'ServerAuth', 'ClientAuth', 'CodeSigning', 'EmailProtection', 'IPSECEndSystem', 'IPSECTunnel', 'IPSECUser',
  'TimeStamping', 'OCSPSigning', 'MicrosoftServerGatedCrypto', 'NetscapeServerGatedCrypto',
  'MicrosoftCommercialCodeSigning', 'MicrosoftKernelCodeSigning',
];
const anyUsage = 0;
const serverAuth = 1;
const serverGatedCrypto = new Set([10, 11]);

const publicKeyAlgorithms: Record<string, number> = { rsa: 1, 'rsa-pss': 1, dsa: 2, ec: 3, ed25519: 4 };

const goTime = (text: string) => new Date(text).toISOString().replace(/\.000Z$/, 'Z');

export function certificateValue(certificate: X509Certificate): Value {
  const alternatives = alternativeNames(certificate.subjectAltName);
  const list = (key: string) => (alternatives.has(key) ? makeArray(alternatives.get(key)!) : null);
  const uris = alternatives.get('URI');
  return makeObject([
    ['Raw', certificate.raw.toString('base64')],
    ['Version', 3],
    ['SerialNumber', normalizeNumber(BigInt(`0x${certificate.serialNumber}`))],
    ['Subject', distinguishedName(certificate.subject)],
    ['Issuer', distinguishedName(certificate.issuer)],
    ['NotBefore', goTime(certificate.validFrom)],
    ['NotAfter', goTime(certificate.validTo)],
    ['IsCA', certificate.ca],
    ['BasicConstraintsValid', certificate.ca],
    ['PublicKeyAlgorithm', publicKeyAlgorithms[certificate.publicKey.asymmetricKeyType ?? ''] ?? 0],
    ['ExtKeyUsage', certificate.keyUsage ? makeArray(certificate.keyUsage.map((oid) => extKeyUsages[oid] ?? -1).filter((n) => n >= 0)) : null],
    ['DNSNames', list('DNS')],
    ['EmailAddresses', list('email')],
    ['IPAddresses', list('IP Address')],
    ['URIs', uris ? makeArray(uris.map(uriValue)) : null],
    ['URIStrings', uris ? makeArray(uris) : null],
  ]);
}

/** Go's x509.VerifyOptions as OPA reads them; no key usages means server authentication, as in Go. */
interface VerifyOptions {
  readonly nowMs: number;
  readonly dnsName?: string;
  readonly keyUsages: readonly number[];
}

function usagesOf(certificate: X509Certificate): number[] {
  return (certificate.keyUsage ?? []).map((oid) => extKeyUsages[oid] ?? -1);
}

/** Go's checkChainForKeyUsage: some requested usage is allowed by every certificate that restricts usage. */
function usagesAllowed(certificates: readonly X509Certificate[], requested: readonly number[]): boolean {
  if (requested.includes(anyUsage)) return true;
  let remaining = [...requested];
  for (const certificate of certificates) {
    const usages = usagesOf(certificate);
    if (usages.length === 0 || usages.includes(anyUsage)) continue;
    remaining = remaining.filter((wanted) => usages.includes(wanted) || (wanted === serverAuth && usages.some((u) => serverGatedCrypto.has(u))));
    if (remaining.length === 0) return false;
  }
  return true;
}

/** Go's VerifyHostname: an IP address against the IP names, otherwise the DNS names (wildcards too), never the subject. */
function hostnameValid(leaf: X509Certificate, name: string): boolean {
  const ip = name.replace(/^\[(.*)\]$/, '$1');
  if (/^[\d.]+$/.test(ip) || ip.includes(':')) return leaf.checkIP(ip) !== undefined;
  return leaf.checkHost(name, { subject: 'never' }) !== undefined;
}

const signedBy = (certificate: X509Certificate, issuer: X509Certificate) =>
  certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);

/**
 * Go's Verify as OPA calls it: the first certificate is the trusted root, the last the leaf, the
 * others intermediates in any order. The chain found, leaf first and root last (Go's order), or
 * undefined. Intermediates must be CAs; every certificate must be valid at the time asked.
 */
function verifiedPath(certificates: readonly X509Certificate[], options: VerifyOptions): X509Certificate[] | undefined {
  if (certificates.length < 2) return undefined;
  const root = certificates[0]!;
  const leaf = certificates[certificates.length - 1]!;
  const intermediates = certificates.slice(1, -1);
  if (options.dnsName !== undefined && options.dnsName !== '' && !hostnameValid(leaf, options.dnsName)) return undefined;
  const path = [leaf];
  for (let current = leaf; !signedBy(current, root); ) {
    const issuer = intermediates.find((candidate) => !path.includes(candidate) && candidate.ca && signedBy(current, candidate));
    if (issuer === undefined) return undefined;
    path.push((current = issuer));
  }
  path.push(root);
  const within = (c: X509Certificate) => Date.parse(c.validFrom) <= options.nowMs && options.nowMs <= Date.parse(c.validTo);
  return path.every(within) && usagesAllowed(path, options.keyUsages) ? path : undefined;
}

const int64Range = (n: bigint) => n >= -(2n ** 63n) && n < 2n ** 63n;

/** OPA's extractVerifyOpts: DNSName, CurrentTime (ns), MaxConstraintComparisons, KeyUsages; any other string key is an error. */
function verifyOptions(name: string, options: RegoObject, nowNs: bigint): VerifyOptions {
  let nowMs = Number(nowNs / 1_000_000n);
  let dnsName: string | undefined;
  let keyUsages: number[] = [];
  const keys = [...options.keys()].sort(compare);
  for (const key of keys) {
    if (typeof key !== 'string') continue;
    const value = options.get(key)!;
    switch (key) {
      case 'DNSName':
        if (typeof value !== 'string') throw builtinError(name, "'DNSName' should be a string");
        dnsName = value;
        break;
      case 'CurrentTime':
        if (!isNumber(value)) throw builtinError(name, "'CurrentTime' should be a number");
        if (!isInteger(value) || !int64Range(BigInt(value))) throw builtinError(name, "'CurrentTime' should be a valid int64 number");
        nowMs = Number(BigInt(value) / 1_000_000n);
        break;
      case 'MaxConstraintComparisons':
        if (!isNumber(value)) throw builtinError(name, "'MaxConstraintComparisons' should be a number");
        if (!isInteger(value) || !int64Range(BigInt(value))) throw builtinError(name, "'MaxConstraintComparisons' should be a valid number");
        break;
      case 'KeyUsages': {
        if (!Array.isArray(value) && !isSet(value)) throw builtinError(name, "'KeyUsages' should be an Array or Set");
        const names = [...(value as Iterable<Value>)].filter((u): u is string => typeof u === 'string');
        const usage = (u: string) => (u.startsWith('KeyUsage') ? keyUsageNames.indexOf(u.slice('KeyUsage'.length)) : -1);
        const invalid = names.filter((u) => usage(u) < 0);
        if (invalid.length > 0) throw builtinError(name, `invalid entries for 'KeyUsages' found: [${invalid.join(' ')}]`);
        keyUsages = names.map(usage);
        break;
      }
      default:
        throw builtinError(name, 'invalid key option');
    }
  }
  return { nowMs, dnsName, keyUsages: keyUsages.length > 0 ? keyUsages : [serverAuth] };
}

/** `[true, certificates]` when the chain verifies, `[false, []]` when it cannot be read or does not verify. */
function verifiedChain(name: string, text: string, options: () => VerifyOptions): Value {
  let certificates: X509Certificate[];
  try {
    certificates = parseCertificates(name, certificateBuffers(name, text));
  } catch {
    return makeArray([false, makeArray([])]);
  }
  const path = verifiedPath(certificates, options());
  if (path === undefined) return makeArray([false, makeArray([])]);
  return makeArray([true, makeArray(path.map(certificateValue))]);
}

export const x509Builtins = [
  define('crypto.x509.parse_certificates', ['string'], ([text]) => {
    const name = 'crypto.x509.parse_certificates';
    return makeArray(parseCertificates(name, certificateBuffers(name, text as string)).map(certificateValue));
  }),
  define(
    'crypto.x509.parse_and_verify_certificates',
    ['string'],
    ([text], context) =>
      verifiedChain('crypto.x509.parse_and_verify_certificates', text as string, () => ({
        nowMs: Number(context.nowNs / 1_000_000n),
        keyUsages: [serverAuth],
      })),
    { nondeterministic: true },
  ),
  define(
    'crypto.x509.parse_and_verify_certificates_with_options',
    ['string', 'object'],
    ([text, options], context) => {
      const name = 'crypto.x509.parse_and_verify_certificates_with_options';
      // Options are read after the certificates, as OPA does: unreadable certificates win over bad options.
      return verifiedChain(name, text as string, () => verifyOptions(name, options as RegoObject, context.nowNs));
    },
    { nondeterministic: true },
  ),
];
