// Follows an operator's edits of the CA directory (Istio's cacerts layout, or the state
// directory's own CA) on a running control plane: a root rotation is three edits, each applied
// when the files settle (or on SIGHUP), each refused whole if the directory is inconsistent.
// Kubernetes updates a mounted Secret by swapping a symlink, which a directory watch sees.
import { watch, type FSWatcher } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { loadCaDirectory } from './ca-directory.js';
import type { CertificateAuthority } from './certificate-authority.js';

export interface CaDirectoryWatch {
  /** Reads the directory now and applies it; resolves once done (refusals are logged, not thrown). */
  reload(): Promise<void>;
  close(): void;
}

/** Quiet time after the last change event before the directory is read (editors write in steps). */
const SETTLE_MS = 200;

/** Short SHA-256 prints of the roots and of the signing certificate, for the log. */
function describe(ca: CertificateAuthority): string {
  const print = (pem: string) => new X509Certificate(pem).fingerprint256.slice(0, 11);
  return `roots [${ca.trustBundlePems.map(print).join(', ')}], signing ${print(ca.signingCertificatePem)}`;
}

export function watchCaDirectory(dir: string, ca: CertificateAuthority, log: (line: string) => void): CaDirectoryWatch {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const reload = (): Promise<void> => {
    running = running.then(async () => {
      const before = describe(ca);
      try {
        const contents = await loadCaDirectory(dir);
        ca.reconcile(contents.signing, contents.trustBundlePems);
      } catch (error) {
        log(`weft control-plane: CA directory ${dir} not applied, the CA keeps ${before}: ${(error as Error).message}`);
        return;
      }
      const after = describe(ca);
      if (after !== before) log(`weft control-plane: CA directory ${dir} applied: ${after}`);
    });
    return running;
  };
  const watcher: FSWatcher = watch(dir, { persistent: false }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), SETTLE_MS);
  });
  watcher.on('error', (error) => log(`weft control-plane: cannot watch ${dir}: ${error.message}`));
  const onHangup = (): void => void reload();
  process.on('SIGHUP', onHangup);
  return {
    reload,
    close() {
      clearTimeout(timer);
      watcher.close();
      process.off('SIGHUP', onHangup);
    },
  };
}
