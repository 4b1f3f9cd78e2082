// CI's closing line (.ci/counting-reporter.mjs, .ci/sum-results.mjs) against real Vitest runs of
// each kind of failure: every one must count as failed, and the line must agree with the exit code.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve('test/ci/fixtures');
const reporter = resolve('.ci/counting-reporter.mjs');
const summarizer = resolve('.ci/sum-results.mjs');

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  failures: { where: string; message: string }[];
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function exitOf(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file, args, { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Runs Vitest on the named fixtures with the counting reporter; returns its counts and exit code. */
async function vitestRun(fixtures: string[]): Promise<{ counts: Counts; countsFile: string; code: number }> {
  const countsFile = join(mkdtempSync(join(tmpdir(), 'weft-counts-')), 'counts.json');
  const vitest = resolve('node_modules/vitest/vitest.mjs');
  const args = [vitest, 'run', '--root', root, '--config', join(root, 'vitest.config.ts'), `--reporter=${reporter}`, ...fixtures];
  const { code } = await exitOf(process.execPath, args, { ...process.env, WEFT_TEST_COUNTS: countsFile });
  return { counts: JSON.parse(readFileSync(countsFile, 'utf8')) as Counts, countsFile, code };
}

async function closingLine(...args: string[]): Promise<Outcome> {
  return exitOf(process.execPath, [summarizer, ...args]);
}

describe('CI closing line', () => {
  it('counts a throwing beforeAll as a failure, not as skipped tests only', async () => {
    const { counts, countsFile, code } = await vitestRun(['throwing-before-all']);
    expect(code).not.toBe(0);
    expect(counts.failed).toBe(1);
    expect(counts.failures[0]!.message).toContain('peer did not start');
    const line = await closingLine(countsFile);
    expect(line.stdout.trim()).toBe('0 passed, 1 failed, 2 skipped');
    expect(line.code).toBe(1);
  });

  it('counts a throwing beforeAll inside a describe', async () => {
    const { counts } = await vitestRun(['throwing-suite-hook']);
    expect(counts).toMatchObject({ passed: 1, failed: 1, skipped: 1 });
    expect(counts.failures[0]!.where).toContain('a suite whose setup throws');
  });

  it('counts a throwing afterAll although every test passed', async () => {
    const { counts, code } = await vitestRun(['throwing-after-all']);
    expect(code).not.toBe(0);
    expect(counts).toMatchObject({ passed: 1, failed: 1 });
    expect(counts.failures[0]!.message).toContain('peer did not stop');
  });

  it('counts an unhandled rejection although every test passed', async () => {
    const { counts, code } = await vitestRun(['unhandled-rejection']);
    expect(code).not.toBe(0);
    expect(counts).toMatchObject({ passed: 1, failed: 1 });
    expect(counts.failures[0]!.message).toContain('rejected and never handled');
  });

  it('counts a test file that does not load', async () => {
    const { counts } = await vitestRun(['not-loading']);
    expect(counts).toMatchObject({ passed: 0, failed: 1 });
    expect(counts.failures[0]!.message).toContain('no-such-module');
  });

  it('counts a failing test once', async () => {
    const { counts } = await vitestRun(['failing-test']);
    expect(counts).toMatchObject({ passed: 0, failed: 1, skipped: 0 });
  });

  it('reports a suite skipped by condition as skipped, and passes', async () => {
    const { counts, countsFile, code } = await vitestRun(['skipped-by-condition']);
    expect(code).toBe(0);
    const line = await closingLine(countsFile);
    expect(line.stdout.trim()).toBe('1 passed, 0 failed, 1 skipped');
    expect(line.code).toBe(0);
    expect(counts.failures).toEqual([]);
  });

  it('sums several runs, and a run that left no counts is one failure', async () => {
    const first = await vitestRun(['skipped-by-condition']);
    const second = await vitestRun(['throwing-after-all']);
    const line = await closingLine(first.countsFile, second.countsFile, join(tmpdir(), 'weft-no-such-counts.json'));
    expect(line.stdout.trim()).toBe('2 passed, 2 failed, 1 skipped');
    expect(line.code).toBe(1);
  });

  it('sums the runs that counted with a step that failed (a runtime that could not be fetched)', async () => {
    const first = await vitestRun(['skipped-by-condition']);
    const line = await closingLine(first.countsFile, '--step', 'Node 24 LTS from the npm registry');
    expect(line.stdout.trim()).toBe('1 passed, 1 failed, 1 skipped');
    expect(line.stderr).toContain('Node 24 LTS from the npm registry');
    expect(line.code).toBe(1);
  });

  it('prints 0 passed, 1 failed naming a CI step that failed before any test', async () => {
    const line = await closingLine('--step', 'npm ci');
    expect(line.stdout.trim()).toBe('0 passed, 1 failed, 0 skipped');
    expect(line.stderr).toContain('npm ci');
    expect(line.code).toBe(1);
  });
});
