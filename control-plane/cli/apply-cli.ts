// `weft apply -f FILE|DIR [-f ...] [--dry-run]`: sends the YAML files (and the Rego files they
// name) to the control plane, which validates the whole change and applies it or refuses it.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { isResourceFile, moduleFilesOf, resolveModulePath } from '../resources/document-loader.js';
import type { ApplyRequest, ChangeAnswer } from '../api/admin-contract.js';
import { adminTarget, callAdmin, CONTROL_PLANE_FLAG, printChanges, userError } from './admin-client.js';

export const usage = `usage: weft apply -f FILE|DIR [-f FILE|DIR ...] [--dry-run] [--control-plane URL] [--token-file FILE]

Validates the resources in FILE or DIR (recursively: *.yaml, *.yml, and the Rego files their
policies name) together with the running ones, and applies the change whole or refuses it whole
with every problem (file:line:col). --dry-run shows what would change without applying it.`;

const toPosix = (path: string) => path.split(sep).join('/');

async function yamlFilesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && isResourceFile(entry.name))
    .map((entry) => toPosix(relative(root, join(entry.parentPath, entry.name))))
    .filter((path) => !path.split('/').some((part) => part.startsWith('.')))
    .sort();
}

/** Files keyed by path relative to their root, and how to show each key to the user again. */
export async function collectFiles(targets: readonly string[]): Promise<{ files: Record<string, string>; shown: Map<string, string> }> {
  const files: Record<string, string> = {};
  const shown = new Map<string, string>();
  const add = async (root: string, key: string) => {
    const onDisk = join(root, key);
    if (shown.has(key) && shown.get(key) !== onDisk) throw userError(`${onDisk} and ${shown.get(key)} would both be sent as ${key}; apply them separately`, 2);
    if (shown.has(key)) return;
    files[key] = await readFile(onDisk, 'utf8');
    shown.set(key, onDisk);
  };
  for (const target of targets) {
    const info = await stat(target).catch(() => undefined);
    if (info === undefined) throw userError(`${target}: no such file or directory`, 2);
    const root = info.isDirectory() ? target : dirname(target);
    const yamlFiles = info.isDirectory() ? await yamlFilesUnder(target) : [toPosix(relative(root, target))];
    for (const key of yamlFiles) {
      await add(root, key);
      const documents = parseAllDocuments(files[key]!);
      for (const document of Array.isArray(documents) ? documents : []) {
        if (document.errors.length > 0) continue; // the control plane reports it with its position
        for (const moduleFile of moduleFilesOf(document.toJS())) {
          const moduleKey = resolveModulePath(key, moduleFile);
          if (moduleKey !== undefined && (await stat(join(root, moduleKey)).catch(() => undefined))?.isFile() === true) await add(root, moduleKey);
        }
      }
    }
  }
  return { files, shown };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { file: { type: 'string', short: 'f', multiple: true }, 'dry-run': { type: 'boolean' }, ...CONTROL_PLANE_FLAG },
    allowPositionals: false,
  });
  if (values.file === undefined || values.file.length === 0) throw userError('-f FILE|DIR is required', 2);
  const target = await adminTarget(values, 'write');
  const { files, shown } = await collectFiles(values.file);
  if (Object.keys(files).length === 0) throw userError(`no *.yaml or *.yml files in ${values.file.join(', ')}`, 2);
  const request: ApplyRequest = { files, dryRun: values['dry-run'] === true };
  const answer = await callAdmin<ChangeAnswer>(target, '/v1/apply', request, (file) => shown.get(file) ?? file);
  printChanges(answer);
  return 0;
}
