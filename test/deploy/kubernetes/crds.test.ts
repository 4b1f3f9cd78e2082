import { RESOURCE_KINDS } from '../../../control-plane/api/resource-types.js';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { crdKustomization, crdYaml, generateCrds, readSchemas } from '../../../deploy/kubernetes/crd-generator.js';

const schemaDirectory = 'control-plane/api/schemas';
const crdDirectory = 'deploy/kubernetes/crds';
type Node = Record<string, unknown>;

// Kubernetes' structural schema rules, as the API server checks them on a CRD.
function structuralViolations(node: Node, where: string): string[] {
  const problems: string[] = [];
  if (typeof node.type !== 'string') problems.push(`${where}: no type`);
  for (const banned of ['$ref', '$defs', '$schema', '$id', 'const', 'propertyNames']) {
    if (banned in node) problems.push(`${where}: ${banned}`);
  }
  if (node.uniqueItems === true) problems.push(`${where}: uniqueItems`);
  if (node.properties && node.additionalProperties !== undefined) problems.push(`${where}: properties and additionalProperties`);
  for (const branch of (node.oneOf as Node[] | undefined) ?? []) {
    const keys = Object.keys(branch).filter((key) => key !== 'required');
    if (keys.length > 0) problems.push(`${where}.oneOf: ${keys.join(',')}`);
  }
  for (const [name, child] of Object.entries((node.properties as Record<string, Node> | undefined) ?? {})) {
    problems.push(...structuralViolations(child, `${where}.${name}`));
  }
  if (node.items) problems.push(...structuralViolations(node.items as Node, `${where}[]`));
  if (typeof node.additionalProperties === 'object') problems.push(...structuralViolations(node.additionalProperties as Node, `${where}.*`));
  return problems;
}

function specSchema(crd: Node): Node {
  const spec = crd.spec as { versions: { schema: { openAPIV3Schema: Node } }[] };
  return spec.versions[0]!.schema.openAPIV3Schema;
}

describe('CustomResourceDefinitions (deploy/kubernetes/crds/)', () => {
  const generated = generateCrds(readSchemas(schemaDirectory));

  it('covers every kind the control plane has a schema for', () => {
    const kinds = readSchemas(schemaDirectory)
      .map((doc) => ((doc.schema.properties as Node | undefined)?.kind as Node | undefined)?.const)
      .filter(Boolean)
      .sort();
    expect(kinds).toEqual([...RESOURCE_KINDS].sort());
    expect(generated.map((crd) => crd.kind).sort()).toEqual(kinds);
  });

  it('match the committed YAML (run npm run gen:crds after changing a schema)', () => {
    const expected = new Map(generated.map((crd) => [crd.file, crdYaml(crd)]));
    expected.set('kustomization.yaml', crdKustomization(generated));
    const committed = readdirSync(crdDirectory).sort();
    expect(committed).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) expect(readFileSync(`${crdDirectory}/${file}`, 'utf8'), file).toBe(text);
  });

  it('notice a schema change: the drift check is not vacuous', () => {
    const schemas = readSchemas(schemaDirectory);
    const route = schemas.find((doc) => doc.file === 'route.json')!;
    const spec = (route.schema.properties as Record<string, Node>).spec!;
    (spec.properties as Record<string, Node>).extra = { type: 'string' };
    const changed = generateCrds(schemas).find((crd) => crd.kind === 'Route')!;
    expect(crdYaml(changed)).not.toBe(readFileSync(`${crdDirectory}/route.yaml`, 'utf8'));
  });

  it.each(generated.map((crd) => [crd.kind, crd] as const))('%s is a structural apiextensions.k8s.io/v1 CRD', (_kind, crd) => {
    const object = parse(readFileSync(`${crdDirectory}/${crd.file}`, 'utf8')) as Node;
    expect(object).toMatchObject({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' });
    const spec = object.spec as { group: string; names: { plural: string; kind: string }; scope: string; versions: Node[] };
    expect((object.metadata as Node).name).toBe(`${spec.names.plural}.weft.dev`);
    expect(spec.names.kind).toBe(crd.kind);
    expect(spec.scope).toBe('Namespaced');
    expect(spec.versions).toHaveLength(1);
    expect(spec.versions[0]).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
    expect(structuralViolations(specSchema(object), crd.kind)).toEqual([]);
  });

  it('keeps the constraints the JSON Schema states (enum for const, sets for unique scalars, oneOf branches)', () => {
    const policy = specSchema(generated.find((crd) => crd.kind === 'AuthorizationPolicy')!.object);
    const spec = (policy.properties as Record<string, Node>).spec!;
    const properties = spec.properties as Record<string, Node>;
    expect(properties.mode).toMatchObject({ type: 'string', enum: ['enforce', 'dry-run'] });
    expect((properties.targets!.properties as Record<string, Node>).workloads).toMatchObject({ 'x-kubernetes-list-type': 'set', minItems: 1 });
    expect((properties.modules!.items as Node).oneOf).toEqual([{ required: ['file'] }, { required: ['name', 'rego'] }]);
    expect(properties.data).toMatchObject({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
  });
});
