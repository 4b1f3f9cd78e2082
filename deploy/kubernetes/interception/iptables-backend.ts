// How the rules reach the kernel: the iptables-save/iptables-restore pair of one backend. Pods
// run whichever the node's kernel and kube-proxy use; mixing them in one namespace leaves rules
// that the other side cannot see, so the backend is chosen, not guessed per call.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IptablesBackend {
  readonly save: string;
  readonly restore: string;
}

export const IPTABLES_BACKENDS: Readonly<Record<string, IptablesBackend>> = Object.freeze({
  /** The system's default alternative (Debian: iptables-nft). */
  default: { save: 'iptables-save', restore: 'iptables-restore' },
  legacy: { save: 'iptables-legacy-save', restore: 'iptables-legacy-restore' },
  nft: { save: 'iptables-nft-save', restore: 'iptables-nft-restore' },
});

export async function saveNat(backend: IptablesBackend): Promise<string> {
  return (await run(backend.save, ['-t', 'nat'], { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** Replaces the nat table with `table`, atomically (iptables-restore commits the table at once). */
export async function restoreNat(backend: IptablesBackend, table: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile(backend.restore, ['-w', '5'], (error, _stdout, stderr) => (error ? reject(new Error(`${backend.restore}: ${stderr.trim() || error.message}`)) : resolve()));
    child.stdin!.end(table);
  });
}
