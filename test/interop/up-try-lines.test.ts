// Every "Try it" line `weft up` prints works as printed: each is run by /bin/sh with Debian's
// curl against the demo mesh, and its output is what the line's comment promises. A new line
// without an expectation here fails the test (so none goes unchecked).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { demoMeshForTests } from '../deploy/up-fixture.js';

const run = promisify(execFile);

/** What each printed line answers, by a part of its command only that line has. */
const EXPECTED: readonly { readonly line: RegExp; readonly output: RegExp }[] = [
  { line: /http:\/\/orders\/orders$/, output: /"sku":"apple"/ },
  { line: /http:\/\/orders\/orders\/admin$/, output: /^HTTP\/1\.1 403 [\s\S]*AUTHZ_DENIED/ },
  { line: /^curl http:\/\/127\.0\.0\.1:\d+\/$/, output: /"GET orders \/orders \(allowed\)"/ },
  { line: /"customerId": "42"/, output: /^\{"customer":\{"id":"42","name":"Grace Hopper"/ },
  { line: /"customerId": "99"/, output: /^HTTP\/1\.1 404 [\s\S]*"fault":\{"code":"Client\.CustomerNotFound"/ },
  { line: /http:\/\/llm\/v1\/models$/, output: /"id":"sim\/llama-3-8b"/ },
  { line: /http:\/\/llm\/v1\/chat\/completions$/, output: /^data: \{"id":"chatcmpl-[\s\S]*\n\ndata: \[DONE\]\n\n$/ },
];

function tryLines(output: string): string[] {
  const block = output.slice(output.indexOf('Try it:\n') + 'Try it:\n'.length);
  return block
    .slice(0, block.indexOf('\n\n'))
    .split('\n')
    .map((line) => line.replace(/ {4}# .*$/, '').trim());
}

describe("weft up's printed Try it lines, run as printed", () => {
  const mesh = demoMeshForTests();

  it('prints one line per expectation and each answers what it promises', async () => {
    const lines = tryLines(mesh.up().output());
    expect(lines.map((line) => EXPECTED.findIndex((e) => e.line.test(line)))).toEqual(EXPECTED.map((_, i) => i));
    for (const [i, line] of lines.entries()) {
      const { stdout } = await run('/bin/sh', ['-c', `${line} --silent --show-error`], { timeout: 20_000 });
      expect([line, stdout]).toEqual([line, expect.stringMatching(EXPECTED[i]!.output)]);
    }
  });
});
