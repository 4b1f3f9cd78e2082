// What `weft up` tells the user once the mesh is ready: a table of every workload's addresses,
// a few commands to try, and the same addresses as JSON in .weft/up.json (which `weft apply`,
// `weft status` and tests read).
import { writeFile, rename } from 'node:fs/promises';

export interface WorkloadAddresses {
  readonly identity: string;
  readonly app: string;
  readonly inbound: string;
  readonly outbound: string;
  readonly admin: string;
}

export interface UpRecord {
  /** `tokenFiles`: the admin API's read and write tokens, which `weft apply|get|delete|status` use. */
  readonly controlPlane: { readonly admin: string; readonly grpc: string; readonly tokenFiles: { readonly read: string; readonly write: string } };
  readonly trustBundle: string;
  /** The dashboard's URL with its login (read) token. */
  readonly dashboard: string;
  readonly workloads: Readonly<Record<string, WorkloadAddresses>>;
}

export function table(record: UpRecord): string {
  const header = ['workload', 'identity', 'app', 'inbound', 'outbound', 'admin'];
  const rows = Object.entries(record.workloads).map(([name, w]) => [name, w.identity, w.app, w.inbound, w.outbound, w.admin]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `{web.outbound}` -> that address; unknown names are left as written. */
export function fillIn(command: string, record: UpRecord): string {
  return command.replace(/\{([a-z0-9-]+)\.(app|inbound|outbound|admin|identity)\}/g, (whole, name: string, field: keyof WorkloadAddresses) => record.workloads[name]?.[field] ?? whole);
}

export async function writeUpRecord(file: string, record: UpRecord): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(record, null, 2) + '\n');
  await rename(temporary, file);
}
