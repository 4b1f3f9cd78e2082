// Sums the counts that .ci/counting-reporter.mjs wrote for each test run into the one closing
// line CI reads: `N passed, N failed, N skipped`. A run that wrote no counts is one failure; so is
// a CI step that failed before any test ran (`--step NAME`).
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--step') {
    console.error(`CI step failed: ${args[++i]}`);
    failed += 1;
    continue;
  }
  const file = args[i];
  if (!existsSync(file)) {
    console.error(`no test counts at ${file}: counting that run as one failure`);
    failed += 1;
    continue;
  }
  const counts = JSON.parse(readFileSync(file, 'utf8'));
  passed += counts.passed;
  failed += counts.failed;
  skipped += counts.skipped;
  for (const failure of counts.failures) console.error(`failed: ${failure.where}: ${failure.message}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
