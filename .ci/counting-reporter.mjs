// A Vitest reporter that counts what CI's closing line sums, and writes it as JSON to the file
// named by $WEFT_TEST_COUNTS. Vitest's own JSON report misses failures outside tests: a throwing
// beforeAll marks its tests skipped, and afterAll errors and unhandled errors count nowhere. Here
// each of those is one failure, and so is every test file that did not finish.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';

export default class CountingReporter {
  onTestRunEnd(testModules, unhandledErrors, reason) {
    const counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
    const fail = (where, message) => {
      counts.failed++;
      counts.failures.push({ where, message: String(message).split('\n')[0] });
    };
    for (const module of testModules) {
      const file = relative(process.cwd(), module.moduleId);
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') fail(test.fullName, test.result().errors?.[0]?.message ?? 'failed');
        else counts.skipped++;
      }
      // Errors of the file itself: it did not load, or a top-level hook threw.
      for (const error of module.errors()) fail(file, error.message);
      for (const suite of module.children.allSuites()) for (const error of suite.errors()) fail(`${file} > ${suite.fullName}`, error.message);
      const state = module.state();
      if (state !== 'passed' && state !== 'failed' && state !== 'skipped') fail(file, `did not finish (${state})`);
    }
    for (const error of unhandledErrors) fail('unhandled error', error.message);
    if (reason === 'interrupted') fail('test run', 'interrupted');
    const out = process.env.WEFT_TEST_COUNTS;
    if (out) writeFileSync(out, JSON.stringify(counts));
  }
}
