// The last applied snapshot on disk, so that a sidecar restarted while the control plane is down
// serves on it (static stability). Written atomically (temporary file, fsync, rename) so a crash
// mid-write leaves the previous copy; read back through the same decoder as the wire.
import { open, readFile, rename } from 'node:fs/promises';
import type { SnapshotDocuments } from './snapshot.js';

const FORMAT = 'weft.sidecar-snapshot.v1';
const MAX_BYTES = 64 * 1024 * 1024;

export async function writeSnapshotFile(path: string, snapshot: SnapshotDocuments): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(JSON.stringify({ format: FORMAT, ...snapshot }));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}

/** The persisted snapshot, undefined if there is none; throws if the file is not one. */
export async function readSnapshotFile(path: string): Promise<SnapshotDocuments | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (text.length > MAX_BYTES) throw new Error(`${path} is larger than a snapshot can be`);
  const parsed = JSON.parse(text) as Partial<Record<string, unknown>>;
  const { format, versionInfo, revision, documents } = parsed;
  if (format !== FORMAT || typeof versionInfo !== 'string' || typeof revision !== 'number' || !Array.isArray(documents) || !documents.every((d) => typeof d === 'string')) {
    throw new Error(`${path} is not a ${FORMAT} file`);
  }
  return { versionInfo, revision, documents: documents as string[] };
}
