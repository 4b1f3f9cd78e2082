// crypto.x509.parse_certificate_request (a PKCS #10 request read with node-forge's DER reader,
// for any key type: forge's own CSR reader knows RSA keys only) and crypto.x509.parse_keypair (a
// certificate chain and the private key that belongs to its leaf, checked with node:crypto).
// Field names are those of Go's x509.CertificateRequest and tls.Certificate that policies read.
import forge from 'node-forge';
import { makeArray, makeObject, type Value } from '../value.js';
import { goBase64Operand } from './encoding.js';
import { pemBlocks } from './pem-blocks.js';
import { jwk, PEM_BLOCK, pemText, privateKey } from './private-keys.js';
import { builtinError, define } from './support.js';
import { certificateBuffers, certificateValue, distinguishedName, parseCertificates, uriValue } from './x509.js';

type Asn1 = forge.asn1.Asn1;

const shortNames: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.17': 'postalCode',
  '2.5.4.5': 'serialNumber',
};

/** Go's x509.SignatureAlgorithm numbers. */
const signatureAlgorithms: Record<string, number> = {
  '1.2.840.113549.1.1.4': 2,
  '1.2.840.113549.1.1.5': 3,
  '1.2.840.113549.1.1.11': 4,
  '1.2.840.113549.1.1.12': 5,
  '1.2.840.113549.1.1.13': 6,
  '1.2.840.10045.4.1': 9,
  '1.2.840.10045.4.3.2': 10,
  '1.2.840.10045.4.3.3': 11,
  '1.2.840.10045.4.3.4': 12,
  '1.3.101.112': 16,
};

/** Go's x509.PublicKeyAlgorithm numbers, by the key's algorithm OID. */
const publicKeyAlgorithms: Record<string, number> = { '1.2.840.113549.1.1.1': 1, '1.2.840.10040.4.1': 2, '1.2.840.10045.2.1': 3, '1.3.101.112': 4 };

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SUBJECT_ALT_NAME = '2.5.29.17';

function children(node: Asn1 | undefined): Asn1[] {
  return Array.isArray(node?.value) ? (node.value as Asn1[]) : [];
}
function oid(node: Asn1 | undefined): string {
  return typeof node?.value === 'string' ? forge.asn1.derToOid(node.value) : '';
}
function text(node: Asn1): string {
  const raw = node.value as string;
  return node.type === forge.asn1.Type.UTF8 ? forge.util.decodeUtf8(raw) : raw;
}

/** A Name (SEQUENCE of SETs of type-and-value) in Node's "CN=x\nO=y" text, for `distinguishedName`. */
function nameText(name: Asn1 | undefined): string {
  return children(name)
    .flatMap(children)
    .map((pair) => {
      const [type, value] = children(pair);
      const short = shortNames[oid(type)];
      return short === undefined || value === undefined ? '' : `${short}=${text(value)}`;
    })
    .filter(Boolean)
    .join('\n');
}

function ipText(bytes: string): string {
  if (bytes.length === 4) return [...bytes].map((c) => c.charCodeAt(0)).join('.');
  const hex = forge.util.bytesToHex(bytes);
  return (hex.match(/.{4}/g) ?? []).map((group) => group.replace(/^0+(?=.)/, '')).join(':');
}

/** The subject alternative names of the request's extensionRequest attribute. */
function alternativeNames(attributes: Asn1 | undefined): Map<number, string[]> {
  const names = new Map<number, string[]>();
  for (const attribute of children(attributes)) {
    const [type, values] = children(attribute);
    if (oid(type) !== EXTENSION_REQUEST) continue;
    for (const extension of children(children(values)[0])) {
      const parts = children(extension);
      if (oid(parts[0]) !== SUBJECT_ALT_NAME) continue;
      const general = forge.asn1.fromDer(parts[parts.length - 1]!.value as string);
      for (const name of children(general)) names.set(name.type, [...(names.get(name.type) ?? []), name.value as string]);
    }
  }
  return names;
}

/**
 * The request's DER as OPA's builtin reads its argument: PEM only when the text starts with a
 * CERTIFICATE REQUEST header, anything else Go's strict base64 (of PEM or of DER); a PEM block
 * of another type is refused.
 */
function requestDer(name: string, input: string): string {
  const bytes = input.startsWith('-----BEGIN CERTIFICATE REQUEST-----') ? Buffer.from(input) : goBase64Operand(name, input);
  const block = pemBlocks(bytes.toString('latin1'))[0];
  if (block !== undefined && block.type !== 'CERTIFICATE REQUEST') throw builtinError(name, 'invalid PEM-encoded certificate signing request');
  return (block?.der ?? bytes).toString('binary');
}

function requestValue(name: string, input: string): Value {
  const der = requestDer(name, input);
  let request: Asn1;
  try {
    request = forge.asn1.fromDer(der);
  } catch (error) {
    throw builtinError(name, `asn1: ${(error as Error).message}`);
  }
  const [info, algorithm] = children(request);
  const [version, subject, publicKeyInfo, attributes] = children(info);
  if (version === undefined || subject === undefined || publicKeyInfo === undefined) throw builtinError(name, 'asn1: structure error: malformed certificate request');
  const alternatives = alternativeNames(attributes);
  const list = (tag: number, map: (s: string) => Value = (s) => s): Value => (alternatives.has(tag) ? makeArray(alternatives.get(tag)!.map(map)) : null);
  return makeObject([
    ['Raw', forge.util.encode64(der)],
    ['Version', version.value === '' ? 0 : (version.value as string).charCodeAt(0)],
    ['Subject', distinguishedName(nameText(subject))],
    ['SignatureAlgorithm', signatureAlgorithms[oid(children(algorithm)[0])] ?? 0],
    ['PublicKeyAlgorithm', publicKeyAlgorithms[oid(children(children(publicKeyInfo)[0])[0])] ?? 0],
    ['DNSNames', list(2)],
    ['EmailAddresses', list(1)],
    ['IPAddresses', list(7, ipText)],
    ['URIs', list(6, uriValue)],
  ]);
}

function keypairValue(name: string, certificates: string, key: string): Value {
  const parsed = parseCertificates(name, certificateBuffers(name, certificates));
  if (parsed.length === 0) throw builtinError(name, 'tls: failed to find any PEM data in certificate input');
  const blocks = [...pemText(name, key).matchAll(PEM_BLOCK)].filter((block) => block[1]!.endsWith('PRIVATE KEY'));
  if (blocks.length === 0) throw builtinError(name, 'tls: failed to find any PEM data in key input');
  const keyObject = privateKey(name, blocks[0]![0]);
  if (!parsed[0]!.checkPrivateKey(keyObject)) throw builtinError(name, 'tls: private key does not match public key');
  return makeObject([
    ['Certificate', makeArray(parsed.map((certificate) => certificate.raw.toString('base64')))],
    ['PrivateKey', jwk(keyObject)],
    ['Leaf', certificateValue(parsed[0]!)],
  ]);
}

export const x509RequestBuiltins = [
  define('crypto.x509.parse_certificate_request', ['string'], ([input]) => requestValue('crypto.x509.parse_certificate_request', input as string)),
  // Each argument PEM, or base64 of PEM, as OPA accepts them.
  define('crypto.x509.parse_keypair', ['string', 'string'], ([certificates, key]) => keypairValue('crypto.x509.parse_keypair', certificates as string, key as string)),
];
