// The CA's files, in the layout of Istio's `cacerts` so an existing CA plugs in unchanged:
//   ca-cert.pem     the certificate that signs workload certificates (a root or an intermediate)
//   ca-key.pem      its private key, mode 0600
//   cert-chain.pem  optional: intermediates from ca-cert.pem up to the root, closest first
//   root-cert.pem   the trust bundle: one or more roots (several while a root is rotated)
// On first start an empty state directory gets a new self-signed root.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { splitPemCertificates } from '../api/pem.js';
import { CaError } from './ca-errors.js';
import { buildRootCertificate } from './certificate-builder.js';
import type { CaKeyPair } from './certificate-authority.js';

export const CA_FILES = {
  certificate: 'ca-cert.pem',
  key: 'ca-key.pem',
  chain: 'cert-chain.pem',
  bundle: 'root-cert.pem',
} as const;

const ROOT_TTL_MS = 10 * 365 * 24 * 3600_000;

export interface CaDirectoryContents {
  readonly signing: CaKeyPair;
  readonly trustBundlePems: readonly string[];
  /** True when this start created the root. */
  readonly created: boolean;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Refuses a private key file that anyone but its owner could read or write. PostgreSQL's one
 * exception: a file owned by root may also be read by its group, which is how Kubernetes mounts a
 * Secret for a pod's fsGroup (root:fsGroup, mode 0440).
 */
export async function assertPrivateFile(path: string): Promise<void> {
  const { mode, uid } = await stat(path);
  if ((mode & (uid === 0 ? 0o037 : 0o077)) !== 0) {
    throw new CaError(
      'CA_KEY_EXPOSED',
      `${path} has mode ${(mode & 0o777).toString(8)}; run 'chmod 600 ${path}' (group and others must have no access; group read only for a file owned by root)`,
    );
  }
}

/** Writes a new private file; never overwrites one. */
export async function writePrivateFile(path: string, contents: string): Promise<void> {
  await writeFile(path, contents, { mode: 0o600, flag: 'wx' });
}

async function readCertificates(path: string, what: string): Promise<string[]> {
  const pems = splitPemCertificates(await readFile(path, 'utf8'));
  if (pems.length === 0) throw new CaError('CA_CONFIG_INVALID', `${path} holds no PEM certificate (${what})`);
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new CaError('CA_CONFIG_INVALID', `${path}: not a valid certificate (${(error as Error).message})`);
    }
  }
  return pems;
}

export async function loadCaDirectory(dir: string): Promise<CaDirectoryContents> {
  const path = (name: string) => join(dir, name);
  for (const name of [CA_FILES.certificate, CA_FILES.key, CA_FILES.bundle]) {
    if (!(await exists(path(name)))) throw new CaError('CA_CONFIG_INVALID', `${path(name)} is missing`);
  }
  await assertPrivateFile(path(CA_FILES.key));
  const [certificatePem] = await readCertificates(path(CA_FILES.certificate), 'the CA certificate');
  const intermediatePems = (await exists(path(CA_FILES.chain)))
    ? await readCertificates(path(CA_FILES.chain), 'the CA chain')
    : [];
  const trustBundlePems = await readCertificates(path(CA_FILES.bundle), 'the trust bundle');
  const roots = new Set(trustBundlePems.map((pem) => new X509Certificate(pem).fingerprint256));
  const ownFingerprint = new X509Certificate(certificatePem as string).fingerprint256;
  return {
    signing: {
      certificatePem: certificatePem as string,
      privateKeyPem: await readFile(path(CA_FILES.key), 'utf8'),
      // Istio's cert-chain.pem may repeat ca-cert.pem and the root: keep only what lies between.
      intermediatePems: intermediatePems.filter((pem) => {
        const print = new X509Certificate(pem).fingerprint256;
        return print !== ownFingerprint && !roots.has(print);
      }),
    },
    trustBundlePems,
    created: false,
  };
}

/** A new self-signed root (RSA 2048, 10 years) and its key, in memory. */
export function generateRootCa(commonName = 'weft root CA'): { privateKeyPem: string; rootPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { privateKeyPem, rootPem: buildRootCertificate({ privateKeyPem, commonName, ttlMs: ROOT_TTL_MS }) };
}

/** Creates a self-signed root in `dir` (mode 0700), unless it already holds a CA. */
export async function createRootCa(dir: string, commonName = 'weft root CA'): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKeyPem, rootPem } = generateRootCa(commonName);
  await writePrivateFile(join(dir, CA_FILES.key), privateKeyPem);
  await writeFile(join(dir, CA_FILES.certificate), rootPem, { flag: 'wx' });
  await writeFile(join(dir, CA_FILES.bundle), rootPem, { flag: 'wx' });
}

/** Loads the CA in `dir`, creating a self-signed root there on first start. */
export async function loadOrCreateCaDirectory(dir: string): Promise<CaDirectoryContents> {
  const present = await Promise.all(
    [CA_FILES.certificate, CA_FILES.key, CA_FILES.bundle].map((name) => exists(join(dir, name))),
  );
  if (present.every((found) => !found)) {
    await createRootCa(dir);
    return { ...(await loadCaDirectory(dir)), created: true };
  }
  return loadCaDirectory(dir);
}
