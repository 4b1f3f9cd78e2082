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
