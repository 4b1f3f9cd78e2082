// CustomResourceDefinitions generated from the JSON Schemas the control plane validates with
// (control-plane/api/schemas/), so the two never disagree. Kubernetes wants a structural OpenAPI v3
// schema: no $ref, a type on every node, no const, no uniqueItems, no propertyNames, no
// additionalProperties beside properties. What cannot be expressed here (label key syntax,
// uniqueness of object items) is still enforced by the control plane, which validates every
// resource with the full JSON Schema whatever store it came from.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CRD_GROUP, CRD_VERSION, crdPlural } from '../../control-plane/api/custom-resources.js';

type JsonSchema = Record<string, unknown>;

const dropped = new Set(['$schema', '$id', '$defs', 'title', 'propertyNames', 'const', 'uniqueItems']);

export interface SchemaDocument {
  readonly file: string;
  readonly schema: JsonSchema;
}

export function readSchemas(directory: string): SchemaDocument[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, schema: JSON.parse(readFileSync(join(directory, file), 'utf8')) as JsonSchema }));
}

function resolveRef(ref: string, current: SchemaDocument, all: readonly SchemaDocument[]): { node: JsonSchema; doc: SchemaDocument } {
  const [file, pointer = ''] = ref.split('#');
  const doc = file ? all.find((candidate) => candidate.file === file) : current;
  if (!doc) throw new Error(`${current.file}: $ref ${ref} names no schema file`);
  let node: unknown = doc.schema;
  for (const segment of pointer.split('/').filter(Boolean)) {
    node = (node as Record<string, unknown> | undefined)?.[segment];
  }
  if (!node || typeof node !== 'object') throw new Error(`${current.file}: $ref ${ref} resolves to nothing`);
  return { node: node as JsonSchema, doc };
}

function typeOfValue(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) throw new Error('null values have no structural type');
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function inferType(node: JsonSchema, where: string): string {
  if (typeof node.type === 'string') return node.type;
  if (node.type !== undefined) throw new Error(`${where}: type ${JSON.stringify(node.type)} is not structural`);
  const values = 'const' in node ? [node.const] : Array.isArray(node.enum) ? node.enum : [];
  const types = new Set(values.map(typeOfValue));
  if (types.size === 1) return [...types][0]!;
  if (node.properties || node.oneOf) return 'object';
  throw new Error(`${where}: no type can be derived`);
}

// One schema node, $refs merged in (the referring node's own keywords win), made structural.
function toStructural(input: JsonSchema, doc: SchemaDocument, all: readonly SchemaDocument[], where: string): JsonSchema {
  let node = input;
  let home = doc;
  while (typeof node.$ref === 'string') {
    const { $ref, ...siblings } = node;
    const target = resolveRef($ref as string, home, all);
    node = { ...target.node, ...siblings };
    home = target.doc;
  }
  const out: JsonSchema = { type: inferType(node, where) };
  for (const [key, value] of Object.entries(node)) {
    if (dropped.has(key) || key === 'type') continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [name, toStructural(child, home, all, `${where}.${name}`)]),
      );
    } else if (key === 'items') {
      out.items = toStructural(value as JsonSchema, home, all, `${where}[]`);
    } else if (key === 'additionalProperties') {
      // false is what pruning does anyway; a schema describes a map's values.
      if (typeof value === 'object' && !node.properties) out.additionalProperties = toStructural(value as JsonSchema, home, all, `${where}.*`);
    } else if (key === 'oneOf') {
      Object.assign(out, structuralOneOf(value as JsonSchema[], home, all, where, out));
    } else {
      out[key] = value;
    }
  }
  if ('const' in node) out.enum = [node.const];
  // An object of unnamed fields (a policy's data) keeps them: pruning would empty it.
  if (out.type === 'object' && !out.properties && !out.additionalProperties && !out.oneOf) out['x-kubernetes-preserve-unknown-fields'] = true;
  if (node.uniqueItems === true && out.items && (out.items as JsonSchema).type !== 'object' && (out.items as JsonSchema).type !== 'array') {
    out['x-kubernetes-list-type'] = 'set';
  }
  return out;
}

// Branches of a oneOf may only constrain (required here); their properties move to the node itself.
function structuralOneOf(branches: JsonSchema[], doc: SchemaDocument, all: readonly SchemaDocument[], where: string, out: JsonSchema): JsonSchema {
  const properties: Record<string, JsonSchema> = { ...(out.properties as Record<string, JsonSchema> | undefined) };
  for (const [index, branch] of branches.entries()) {
    Object.assign(properties, toStructural({ type: 'object', ...branch }, doc, all, `${where}.oneOf[${index}]`).properties);
  }
  // Branches told apart by a property's value (a `const`), not by which properties they
  // require, have no structural form: the CRD keeps their properties, and the control plane's
  // full JSON Schema still decides between them.
  const oneOf = branches.every((branch) => Array.isArray(branch.required)) ? branches.map((branch) => ({ required: branch.required })) : undefined;
  if (Object.keys(properties).length === 0) return oneOf === undefined ? {} : { oneOf };
  return oneOf === undefined ? { properties } : { properties, oneOf };
}

export interface GeneratedCrd {
  readonly file: string;
  readonly kind: string;
  readonly object: JsonSchema;
}

export function generateCrds(schemas: readonly SchemaDocument[]): GeneratedCrd[] {
  return schemas
    .filter((doc) => (doc.schema.properties as Record<string, JsonSchema> | undefined)?.kind)
    .map((doc) => {
      const properties = doc.schema.properties as Record<string, JsonSchema>;
      const kind = properties.kind!.const as string;
      const spec = toStructural(properties.spec!, doc, schemas, `${kind}.spec`);
      const names = { kind, listKind: `${kind}List`, plural: crdPlural(kind), singular: kind.toLowerCase() };
      const object = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${names.plural}.${CRD_GROUP}` },
        spec: {
          group: CRD_GROUP,
          names: { ...names, categories: ['weft'] },
          scope: 'Namespaced',
          versions: [
            {
              name: CRD_VERSION,
              served: true,
              storage: true,
              // The control plane reports there whether it accepted the object, and in which revision.
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  ...(typeof doc.schema.title === 'string' ? { description: doc.schema.title } : {}),
                  required: ['spec'],
                  properties: {
                    apiVersion: { type: 'string' },
                    kind: { type: 'string' },
                    metadata: { type: 'object' },
                    spec,
                    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  },
                },
              },
            },
          ],
        },
      };
      return { file: doc.file.replace(/\.json$/, '.yaml'), kind, object };
    });
}

export function crdYaml(crd: GeneratedCrd): string {
  return `# Generated by npm run gen:crds from control-plane/api/schemas/; do not edit.\n${stringify(crd.object, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

export function crdKustomization(crds: readonly GeneratedCrd[]): string {
  return `# Generated by npm run gen:crds; do not edit.\n${stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: crds.map((crd) => crd.file) })}`;
}
