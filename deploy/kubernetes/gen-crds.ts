// npm run gen:crds (from the package root): rewrites deploy/kubernetes/crds/ from the schemas.
import { rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdKustomization, crdYaml, generateCrds, readSchemas } from './crd-generator.js';

const schemaDirectory = join(process.cwd(), 'control-plane/api/schemas');
const outputDirectory = join(process.cwd(), 'deploy/kubernetes/crds');
const crds = generateCrds(readSchemas(schemaDirectory));
rmSync(outputDirectory, { recursive: true, force: true });
mkdirSync(outputDirectory, { recursive: true });
for (const crd of crds) writeFileSync(join(outputDirectory, crd.file), crdYaml(crd));
writeFileSync(join(outputDirectory, 'kustomization.yaml'), crdKustomization(crds));
process.stdout.write(`wrote ${crds.length} CustomResourceDefinitions to deploy/kubernetes/crds/\n`);
