// Runs StrykerJS on each guard module in turn (test/mutation/guards.mjs), or on those whose path
// contains an argument, each with only its own tests, and prints a score per module. Needs a
// build first (npm run test:mutation does it). $WEFT_MUTATION_CONCURRENCY sets how many test
// runners Stryker starts (default 1: the machine is shared). $WEFT_MUTATION_INCREMENTAL=1 keeps
// each module's results in reports/mutation/ and re-tests only the mutants whose code or tests
// changed since the last run (Stryker's incremental mode).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { guards } from './guards.mjs';

const filters = process.argv.slice(2);
const concurrency = process.env.WEFT_MUTATION_CONCURRENCY ?? '1';
const incremental = process.env.WEFT_MUTATION_INCREMENTAL === '1';
const selected = guards.filter((guard) => filters.length === 0 || filters.some((filter) => guard.module.includes(filter)));
const rows = [];
for (const guard of selected) {
  const report = `reports/mutation/${guard.module.replaceAll('/', '_')}.json`;
  const mutate = guard.lines === undefined ? guard.module : `${guard.module}:${guard.lines}`;
  // A sandbox per module, so that runs of different modules may go side by side.
  const sandbox = `.stryker-tmp-${guard.module.replaceAll('/', '_')}`;
  const incrementalOptions = incremental ? ['--incremental', '--incrementalFile', report.replace(/\.json$/, '.incremental.json')] : [];
  const run = spawnSync('npx', ['stryker', 'run', '--mutate', mutate, '--concurrency', concurrency, '--tempDirName', sandbox, ...incrementalOptions], {
    stdio: 'inherit',
    env: { ...process.env, WEFT_MUTATION_TESTS: guard.tests.join(','), WEFT_MUTATION_REPORT: report },
  });
  if (run.status !== 0) {
    rows.push({ module: mutate, score: 'stryker failed' });
    continue;
  }
  const { files } = JSON.parse(readFileSync(report, 'utf8'));
  const mutants = Object.values(files).flatMap((file) => file.mutants);
  const count = (status) => mutants.filter((mutant) => mutant.status === status).length;
  const [killed, timeout, survived, noCoverage] = [count('Killed'), count('Timeout'), count('Survived'), count('NoCoverage')];
  const detected = killed + timeout;
  const total = detected + survived + noCoverage;
  const score = total === 0 ? 'no mutants' : `${((100 * detected) / total).toFixed(1)}%`;
  rows.push({ module: mutate, killed, timeout, survived, noCoverage, score });
}
console.table(rows);
