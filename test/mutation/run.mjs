// Runs StrykerJS on each guard module in turn (test/mutation/guards.mjs), or on those whose path
// contains an argument, and prints a score per module. Needs a build first (npm run
// test:mutation does it).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { guards } from './guards.mjs';

const filters = process.argv.slice(2);
const selected = guards.filter((guard) => filters.length === 0 || filters.some((filter) => guard.module.includes(filter)));
const rows = [];
for (const guard of selected) {
  const report = `reports/mutation/${guard.module.replaceAll('/', '_')}.json`;
  const run = spawnSync('npx', ['stryker', 'run', '--mutate', guard.module], {
    stdio: 'inherit',
    env: { ...process.env, WEFT_MUTATION_TESTS: guard.tests.join(','), WEFT_MUTATION_REPORT: report },
  });
  if (run.status !== 0) {
    rows.push({ module: guard.module, score: 'stryker failed' });
    continue;
  }
  const { files } = JSON.parse(readFileSync(report, 'utf8'));
  const mutants = Object.values(files).flatMap((file) => file.mutants);
  const count = (status) => mutants.filter((mutant) => mutant.status === status).length;
  const killed = count('Killed') + count('Timeout');
  const survived = count('Survived') + count('NoCoverage');
  const score = killed + survived === 0 ? 'no mutants' : `${((100 * killed) / (killed + survived)).toFixed(1)}%`;
  rows.push({ module: guard.module, killed, survived, score });
}
console.table(rows);
