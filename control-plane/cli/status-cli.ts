// `weft status [--json]`: the running revision, whether sidecars converged on it, the last
// refused change, and every connected sidecar with its identity, acked revision, last NACK and
// how long since it was seen.
import { parseArgs } from 'node:util';
import type { StatusAnswer } from '../api/admin-contract.js';
import { formatProblem } from '../errors.js';
import { adminTarget, callAdmin, CONTROL_PLANE_FLAG } from './admin-client.js';
import { formatTable } from './table.js';

export const usage = `usage: weft status [--json] [--control-plane URL] [--token-file FILE]`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, ...CONTROL_PLANE_FLAG }, allowPositionals: false });
  const status = await callAdmin<StatusAnswer>(await adminTarget(values, 'read'), '/v1/status');
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  const { revision, convergence } = status;
  const converged = convergence.converged ? 'converged' : 'converging';
  const last = convergence.last === undefined ? '' : `, last convergence ${convergence.last.ms} ms (revision ${convergence.last.revision})`;
  process.stdout.write(`revision ${revision.number} (${revision.hash.slice(0, 12)}), ${converged}${last}\n`);
  if (status.lastRefusal !== null) {
    process.stdout.write(`last refused change (${new Date(status.lastRefusal.at).toISOString()}):\n`);
    for (const problem of status.lastRefusal.problems) process.stdout.write(`  ${formatProblem(problem)}\n`);
  }
  const rows = status.sidecars.map((s) => [
    s.identity,
    s.workload,
    s.ackedRevision === null ? '-' : String(s.ackedRevision),
    s.ackedVersion === null ? '-' : s.ackedVersion.slice(0, 12),
    s.sentVersion !== null && s.sentVersion !== s.ackedVersion && s.lastNack === null ? 'pending' : s.lastNack === null ? 'in sync' : 'NACK',
    `${(s.lastSeenMsAgo / 1000).toFixed(1)}s`,
    s.lastNack?.message ?? '',
  ]);
  process.stdout.write(formatTable(['IDENTITY', 'WORKLOAD', 'ACKED-REV', 'VERSION', 'STATE', 'SEEN', 'LAST-NACK'], rows));
  return 0;
}
