// `weft inject -f FILE`: the webhook's mutation offline, like `istioctl kube-inject`: reads
// Kubernetes YAML (one or more documents), injects every Pod and every workload's pod template
// that does not opt out, and prints the result. Other objects pass through unchanged.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import fastJsonPatch from 'fast-json-patch';
import { parseAllDocuments, stringify } from 'yaml';
import { InjectionRefused, SETTINGS_OPTIONS, SETTINGS_USAGE, settingsFromFlags, type InjectionSettings } from './injection-settings.js';
import { podInjection, type PodLike } from './pod-injection.js';

export const usage = `usage: weft inject -f FILE [options]

Prints FILE's Kubernetes objects with the weft sidecar injected into each Pod and each pod
template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), as the injector
webhook would in a labelled namespace (a pod annotated weft.dev/inject: "false" is left alone).
FILE - reads stdin.

options:
  -f, --filename FILE
${SETTINGS_USAGE}`;

/** Where each kind keeps its pod template, as a JSON pointer. */
const POD_TEMPLATES: Readonly<Record<string, string>> = {
  Pod: '',
  Deployment: '/spec/template',
  StatefulSet: '/spec/template',
  DaemonSet: '/spec/template',
  ReplicaSet: '/spec/template',
  Job: '/spec/template',
  CronJob: '/spec/jobTemplate/spec/template',
};

function inputError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 1 });
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Injects one object; returns it unchanged when it holds no pod or opts out. */
export function injectObject(object: unknown, settings: InjectionSettings): unknown {
  const kind = (object as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(POD_TEMPLATES, kind)) return object;
  const prefix = POD_TEMPLATES[kind]!;
  const template = fastJsonPatch.getValueByPointer(object, prefix || '') as PodLike | undefined;
  if (typeof template !== 'object' || template === null) throw new InjectionRefused(`${kind} has no pod template at ${prefix}`);
  const outcome = podInjection(template, 'namespace', settings, prefix);
  if (!outcome.inject) return object;
  return fastJsonPatch.applyPatch(object, outcome.patch, true, false).newDocument;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { filename: { type: 'string', short: 'f' }, ...SETTINGS_OPTIONS } });
  if (values.filename === undefined) throw Object.assign(new Error('-f FILE is required'), { exitCode: 2 });
  const settings = settingsFromFlags(values);
  const documents = parseAllDocuments(await readInput(values.filename));
  const output: string[] = [];
  for (const [index, document] of documents.entries()) {
    if (document.errors.length > 0) throw inputError(`${values.filename}: document ${index + 1}: ${document.errors.map((error) => error.message).join('; ')}`);
    const object: unknown = document.toJS();
    if (object === null || object === undefined) continue;
    try {
      output.push(stringify(injectObject(object, settings)));
    } catch (error) {
      if (!(error instanceof InjectionRefused)) throw error;
      throw inputError(`${values.filename}: document ${index + 1}: ${error.message}`);
    }
  }
  process.stdout.write(output.join('---\n'));
  return 0;
}
