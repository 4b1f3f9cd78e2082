// `weft delete KIND NAME... [-n NAMESPACE] [--dry-run]`: removes resources, refused whole if the
// rest would no longer validate (e.g. a policy still targets the workload).
import { parseArgs } from 'node:util';
import type { ChangeAnswer, DeleteRequest } from '../api/admin-contract.js';
import { adminTarget, callAdmin, CONTROL_PLANE_FLAG, printChanges, userError } from './admin-client.js';
import { kindNamed } from './kind-names.js';

export const usage = `usage: weft delete KIND NAME [NAME ...] [-n NAMESPACE] [--dry-run] [--control-plane URL] [--token-file FILE]`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { namespace: { type: 'string', short: 'n', default: 'default' }, 'dry-run': { type: 'boolean' }, ...CONTROL_PLANE_FLAG },
    allowPositionals: true,
  });
  const [kindText, ...names] = positionals;
  if (kindText === undefined || names.length === 0) throw userError('KIND and at least one NAME are required', 2);
  const kind = kindNamed(kindText);
  const target = await adminTarget(values, 'write');
  const keys = names.map((name) => `${kind}/${values.namespace}/${name}`);
  const request: DeleteRequest = { keys, dryRun: values['dry-run'] === true };
  printChanges(await callAdmin<ChangeAnswer>(target, '/v1/delete', request));
  return 0;
}
