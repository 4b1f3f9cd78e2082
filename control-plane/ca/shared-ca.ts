// The CA shared by control-plane replicas through etcd: one record at `/weft/ca/authority` holds
// the signing certificate, its intermediates, the trust bundle, and the CA key and the
// bootstrap-token key sealed (sealed-secret.ts) with the encryption key every replica is given.
// The first replica to start writes it in a create-if-absent transaction, so replicas starting
// together agree on one CA; the others load it. A key that does not open the record stops the
// replica: it never makes a CA of its own.
import { X509Certificate } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { CaError } from './ca-errors.js';
import { generateRootCa, loadCaDirectory, type CaDirectoryContents } from './ca-directory.js';
import { generateTokenKeyPem } from './bootstrap-token.js';
import { open, seal, type SealedSecret } from './sealed-secret.js';

export const SHARED_CA_KEY = '/weft/ca/authority';
/** The names the sealed keys are bound to (their AAD). */
const SIGNING_KEY_NAME = `${SHARED_CA_KEY}#signing-key`;
const TOKEN_KEY_NAME = `${SHARED_CA_KEY}#token-key`;

export interface SharedCaOptions {
  readonly endpoints: readonly string[];
  readonly encryptionKey: Buffer;
  /** An existing CA to share on first start; later starts check the store holds this one. */
  readonly pluginCaDir?: string;
}

export interface SharedCa {
  readonly contents: CaDirectoryContents;
  readonly tokenKeyPem: string;
}

interface StoredCa {
  readonly v: 1;
  readonly certificatePem: string;
  readonly intermediatePems: readonly string[];
  readonly trustBundlePems: readonly string[];
  readonly signingKey: SealedSecret;
  readonly tokenKey: SealedSecret;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function decode(text: string, key: Buffer): SharedCa {
  let stored: Partial<StoredCa>;
  try {
    stored = JSON.parse(text) as Partial<StoredCa>;
  } catch {
    throw new CaError('CA_SEALED_SECRET_INVALID', `etcd ${SHARED_CA_KEY} is not JSON`);
  }
  if (stored?.v !== 1 || typeof stored.certificatePem !== 'string' || !isStringArray(stored.intermediatePems) || !isStringArray(stored.trustBundlePems)) {
    throw new CaError('CA_SEALED_SECRET_INVALID', `etcd ${SHARED_CA_KEY} is not a weft CA record (version 1)`);
  }
  return {
    contents: {
      signing: { certificatePem: stored.certificatePem, privateKeyPem: open(stored.signingKey, key, SIGNING_KEY_NAME), intermediatePems: stored.intermediatePems },
      trustBundlePems: stored.trustBundlePems,
      created: false,
    },
    tokenKeyPem: open(stored.tokenKey, key, TOKEN_KEY_NAME),
  };
}

function encode(ca: SharedCa, key: Buffer): string {
  const { signing, trustBundlePems } = ca.contents;
  const stored: StoredCa = {
    v: 1,
    certificatePem: signing.certificatePem,
    intermediatePems: signing.intermediatePems ?? [],
    trustBundlePems,
    signingKey: seal(signing.privateKeyPem, key, SIGNING_KEY_NAME),
    tokenKey: seal(ca.tokenKeyPem, key, TOKEN_KEY_NAME),
  };
  return JSON.stringify(stored);
}

async function candidate(pluginCaDir: string | undefined): Promise<SharedCa> {
  const tokenKeyPem = generateTokenKeyPem();
  if (pluginCaDir !== undefined) return { contents: { ...(await loadCaDirectory(pluginCaDir)), created: true }, tokenKeyPem };
  const { privateKeyPem, rootPem } = generateRootCa();
  return { contents: { signing: { certificatePem: rootPem, privateKeyPem, intermediatePems: [] }, trustBundlePems: [rootPem], created: true }, tokenKeyPem };
}

function sameCertificate(a: string, b: string): boolean {
  return new X509Certificate(a).fingerprint256 === new X509Certificate(b).fingerprint256;
}

async function withClient<T>(endpoints: readonly string[], use: (client: Etcd3) => Promise<T>): Promise<T> {
  const client = new Etcd3({ hosts: [...endpoints], dialTimeout: 3000 });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

/** Loads the shared CA, creating it (or storing the plug-in CA) when the store has none yet. */
export async function loadOrCreateSharedCa(options: SharedCaOptions): Promise<SharedCa> {
  const { encryptionKey: key, pluginCaDir } = options;
  const shared = await withClient(options.endpoints, async (client) => {
    const existing = await client.get(SHARED_CA_KEY).string();
    if (existing !== null) return decode(existing, key);
    const mine = await candidate(pluginCaDir);
    const result = await client
      .if(SHARED_CA_KEY, 'Create', '==', 0)
      .then(client.put(SHARED_CA_KEY).value(encode(mine, key)))
      .else(client.get(SHARED_CA_KEY))
      .commit();
    if (result.succeeded) return mine;
    // Another replica wrote first: use its CA.
    const theirs = result.responses[0]?.response_range.kvs[0]?.value.toString('utf8');
    if (theirs === undefined) throw new CaError('CA_SEALED_SECRET_INVALID', `etcd ${SHARED_CA_KEY} vanished while it was being created`);
    return decode(theirs, key);
  });
  if (pluginCaDir !== undefined && !shared.contents.created) {
    const plugged = await loadCaDirectory(pluginCaDir);
    if (!sameCertificate(plugged.signing.certificatePem, shared.contents.signing.certificatePem)) {
      throw new CaError('CA_CONFIG_INVALID', `the store already holds another CA than ${pluginCaDir}; the replicas must share one (remove --plugin-ca, or start from an empty store)`);
    }
  }
  return shared;
}

/** Loads the shared CA; refuses when no control plane has created it yet. */
export async function loadSharedCa(options: Omit<SharedCaOptions, 'pluginCaDir'>): Promise<SharedCa> {
  const existing = await withClient(options.endpoints, (client) => client.get(SHARED_CA_KEY).string());
  if (existing === null) throw new CaError('CA_CONFIG_INVALID', `etcd holds no CA at ${SHARED_CA_KEY}: start a control plane on this store first`);
  return decode(existing, options.encryptionKey);
}
