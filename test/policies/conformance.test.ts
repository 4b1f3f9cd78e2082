// Ratchet: the conformance pass count may only go up. Raise `minPassed` in
// conformance-ratchet.json when the engine passes more cases.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultConformanceDir } from '../../policies/cli.js';
import { runConformance } from '../../policies/conformance.js';

const ratchet = JSON.parse(readFileSync(new URL('./conformance-ratchet.json', import.meta.url), 'utf8')) as { minPassed: number };
const dir = defaultConformanceDir();

describe('Rego conformance cases', () => {
  it.skipIf(dir === undefined)(`pass at least the ratchet count (${ratchet.minPassed})`, () => {
    const report = runConformance(dir!);
    const total = report.passed + report.failed;
    console.log(`conformance: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped (${((100 * report.passed) / total).toFixed(1)}%)`);
    expect(report.passed).toBeGreaterThanOrEqual(ratchet.minPassed);
  });
});
