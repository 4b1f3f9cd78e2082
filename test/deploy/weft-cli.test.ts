import { describe, expect, it } from 'vitest';
import { runWeft } from '../helpers/weft-cli.js';

describe('weft command', () => {
  it('lists its subcommands with --help and exits 0', async () => {
    const result = await runWeft(['--help']);
    expect(result.code).toBe(0);
    for (const name of ['proxy', 'control-plane', 'policy', 'up']) {
      expect(result.stdout).toContain(name);
    }
  });

  it('prints help and exits 0 at every level: each command, each tool, with --help or -h anywhere', { timeout: 90_000 }, async () => {
    const commandLines = [
      ...['proxy', 'control-plane', 'apply', 'get', 'delete', 'status', 'policy', 'token', 'up'].map((name) => [name]),
      ['policy', 'eval'],
      ['policy', 'test'],
      ['policy', 'check'],
      ['policy', 'conformance'],
      ['token', 'create'],
    ];
    const asked = [...commandLines.map((line) => [...line, '--help']), ['status', '-h'], ['policy', 'eval', '-h'], ['token', 'create', '-h']];
    const results = await Promise.all(asked.map((args) => runWeft(args)));
    results.forEach((result, i) => {
      expect({ args: asked[i], code: result.code, stderr: result.stderr }).toEqual({ args: asked[i], code: 0, stderr: '' });
      expect(result.stdout).toMatch(new RegExp(`^usage: weft ${asked[i]![0]}`));
    });
    const evalHelp = await runWeft(['policy', 'eval', '-d', 'policies/', '--help']);
    expect(evalHelp.code).toBe(0);
    expect(evalHelp.stdout).toMatch(/^usage: weft policy eval .*QUERY\n\nevaluate a query/);
    expect((await runWeft(['policy', 'test', '--help'])).stdout).toMatch(/^usage: weft policy test DIR/);
  });

  it('refuses an unknown command with exit code 2 and no stack trace', async () => {
    const result = await runWeft(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints usage and exits 2 when no command is given', async () => {
    const result = await runWeft([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('usage: weft <command>');
  });
});
