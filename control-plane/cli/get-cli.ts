// `weft get KIND [NAME] [-n NAMESPACE] [-o table|yaml|json]`: the running resources.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { ResourcesAnswer } from '../api/admin-contract.js';
import { adminTarget, callAdmin, CONTROL_PLANE_FLAG, userError } from './admin-client.js';
import { kindNamed } from './kind-names.js';
import { formatTable } from './table.js';

export const usage = `usage: weft get KIND [NAME] [-n NAMESPACE] [-o table|yaml|json] [--control-plane URL] [--token-file FILE]`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { namespace: { type: 'string', short: 'n' }, output: { type: 'string', short: 'o' }, ...CONTROL_PLANE_FLAG },
    allowPositionals: true,
  });
  const [kindText, name, ...extra] = positionals;
  if (kindText === undefined || extra.length > 0) throw userError('expected KIND [NAME]', 2);
  const output = values.output ?? (name === undefined ? 'table' : 'yaml');
  if (!['table', 'yaml', 'json'].includes(output)) throw userError(`-o must be table, yaml or json, not ${output}`, 2);
  const kind = kindNamed(kindText);
  const query = new URLSearchParams({ kind });
  if (name !== undefined) query.set('name', name);
  if (values.namespace !== undefined) query.set('namespace', values.namespace);
  const { resources } = await callAdmin<ResourcesAnswer>(await adminTarget(values, 'read'), `/v1/resources?${query}`);
  const documents = resources.map((r) => r.document);
  if (output === 'json') process.stdout.write(`${JSON.stringify(name === undefined ? documents : documents[0], null, 2)}\n`);
  else if (output === 'yaml') process.stdout.write(documents.map((d) => stringify(d)).join('---\n'));
  else {
    const rows = resources.map((r) => [r.document.metadata.namespace, r.document.metadata.name, `${r.source.file}:${r.source.line}`]);
    process.stdout.write(formatTable(['NAMESPACE', 'NAME', 'SOURCE'], rows));
  }
  return 0;
}
