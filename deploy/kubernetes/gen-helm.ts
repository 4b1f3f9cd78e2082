// npm run gen:helm (from the package root): rewrites deploy/kubernetes/helm/weft/ from the
// kustomize base and the schemas (helm-chart.ts).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chartFiles } from './helm-chart.js';

const chartDirectory = join(process.cwd(), 'deploy/kubernetes/helm/weft');
const files = chartFiles(join(process.cwd(), 'deploy/kubernetes'), join(process.cwd(), 'control-plane/api/schemas'));
rmSync(chartDirectory, { recursive: true, force: true });
for (const [path, text] of files) {
  mkdirSync(dirname(join(chartDirectory, path)), { recursive: true });
  writeFileSync(join(chartDirectory, path), text);
}
process.stdout.write(`wrote ${files.size} files to deploy/kubernetes/helm/weft/\n`);
