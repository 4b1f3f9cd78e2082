// The Helm chart against the kustomize base. Helm is not a Debian package, so without it the
// templates are rendered here by the one documented substitution the chart uses: each
// `{{ .Values.PATH }}` by values.yaml's value, `{{ .Release.Namespace }}` by weft-system, and the
// namespace guard (the only other template) by nothing. Any other template construct fails the
// test, so this renderer cannot silently miss what Helm would do. With helm on PATH, `helm
// template` renders it too.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_FILES, chartFiles } from '../../../deploy/kubernetes/helm-chart.js';
import { clusterScoped, kubernetesDirectory, loadKustomization, manifestProblems, parseObjects, type KubeObject } from './manifest-checks.js';

const chartDirectory = join(kubernetesDirectory, 'helm/weft');
const values = parse(readFileSync(join(chartDirectory, 'values.yaml'), 'utf8')) as Record<string, unknown>;

function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [relative(chartDirectory, path)];
  });
}

function valueAt(path: string, from: Record<string, unknown>): string {
  const value = path.split('.').reduce<unknown>((object, key) => (object as Record<string, unknown> | undefined)?.[key], from);
  if (value === undefined || typeof value === 'object') throw new Error(`values.yaml has no scalar ${path}`);
  return String(value);
}

/** The chart's templates rendered by the substitution above (throws on anything else). */
function render(namespace: string, overrides: Record<string, unknown> = values): KubeObject[] {
  return filesUnder(join(chartDirectory, 'templates')).flatMap((file) => {
    const text = readFileSync(join(chartDirectory, file), 'utf8');
    if (file === 'templates/namespace-guard.yaml') {
      expect(text).toBe(CHART_FILES.guard);
      if (namespace !== 'weft-system') throw new Error('install weft into the weft-system namespace');
      return [];
    }
    const rendered = text.replace(/\{\{ \.Values\.([a-zA-Z.]+) \}\}/g, (_, path: string) => valueAt(path, overrides)).replaceAll('{{ .Release.Namespace }}', namespace);
    expect(rendered, `${file}: a template construct the renderer does not know`).not.toMatch(/\{\{|\}\}/);
    return parseObjects(rendered, file);
  });
}

/** The base as kustomize applies it: the namespace on every namespaced object. */
function kustomizeBase(): KubeObject[] {
  return loadKustomization(join(kubernetesDirectory, 'base')).map((object) =>
    clusterScoped.includes(object.kind) ? object : { ...object, metadata: { ...object.metadata, namespace: 'weft-system' } },
  );
}

const byId = (objects: readonly KubeObject[]) => new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));

describe('deploy/kubernetes/helm/weft', () => {
  it('is what npm run gen:helm makes from the base and the schemas (run it after changing either)', () => {
    const expected = chartFiles(kubernetesDirectory, 'control-plane/api/schemas');
    expect(filesUnder(chartDirectory).sort()).toEqual([...expected.keys()].sort());
    for (const [path, text] of expected) expect(readFileSync(join(chartDirectory, path), 'utf8'), path).toBe(text);
  });

  it('renders the objects of the kustomize base, but the Namespace Helm creates', () => {
    const base = kustomizeBase();
    const crds = filesUnder(join(chartDirectory, 'crds')).flatMap((file) => parseObjects(readFileSync(join(chartDirectory, file), 'utf8'), file));
    const chart = [...crds, ...render('weft-system')];
    expect(manifestProblems(chart)).toEqual([]);
    const expected = byId(base.filter((o) => o.kind !== 'Namespace'));
    const actual = byId(chart);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, object] of expected) expect(actual.get(key), key).toEqual(object);
  });

  it('puts each value where it is meant to go', () => {
    const objects = byId(render('weft-system', { image: 'registry.example/weft:9.9.9', controlPlane: { replicas: 5 }, injector: { replicas: 4 } }));
    const spec = (key: string) => objects.get(key)!.spec as { replicas: number; template: { spec: { containers: { image: string; args: string[] }[] } } };
    expect(spec('Deployment/weft-control-plane').replicas).toBe(5);
    expect(spec('Deployment/weft-injector').replicas).toBe(4);
    expect(spec('Deployment/weft-control-plane').template.spec.containers[0]!.image).toBe('registry.example/weft:9.9.9');
    const injector = spec('Deployment/weft-injector').template.spec.containers[0]!;
    expect(injector.image).toBe('registry.example/weft:9.9.9');
    // The sidecars it injects run the same image.
    expect(injector.args[injector.args.indexOf('--image') + 1]).toBe('registry.example/weft:9.9.9');
  });

  it('refuses a namespace other than weft-system, which its addresses name', () => {
    expect(() => render('mesh')).toThrow('weft-system');
  });

  const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
  it.skipIf(helm.error !== undefined)(`renders the same with helm template${helm.error ? ' (helm is not on PATH)' : ''}`, () => {
    const run = (namespace: string) => spawnSync('helm', ['template', 'weft', chartDirectory, '-n', namespace, '--include-crds'], { encoding: 'utf8' });
    const rendered = run('weft-system');
    expect(rendered.status, rendered.stderr).toBe(0);
    const expected = byId(kustomizeBase().filter((o) => o.kind !== 'Namespace'));
    const actual = byId(parseObjects(rendered.stdout, 'helm template'));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, object] of expected) expect(actual.get(key), key).toEqual(object);
    expect(run('default').stderr).toContain('install weft into the weft-system namespace');
  });
});
