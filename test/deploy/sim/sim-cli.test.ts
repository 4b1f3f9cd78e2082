// `weft sim vllm` as a user runs it: the built CLI as a child process.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runWeft, weftBin } from '../../helpers/weft-cli.js';

const MIXED_FLEET = fileURLToPath(new URL('../../../deploy/sim/profiles/mixed-fleet.yaml', import.meta.url));

describe('weft sim vllm', () => {
  it('starts the profile fleet, serves each server, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [weftBin, 'sim', 'vllm', '--profile', MIXED_FLEET], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('fleet ready')) resolve();
      });
      child.on('exit', () => reject(new Error(`exited before ready: ${stdout}`)));
    });
    const servers = [...stdout.matchAll(/^weft sim vllm: (\S+) (http:\S+) model=(\S+)/gm)].map((m) => ({ name: m[1]!, url: m[2]! }));
    expect(servers.map((s) => s.name)).toEqual(['gpu-fast-0', 'gpu-fast-1', 'gpu-fast-2', 'gpu-slow', 'gpu-lora']);
    const lora = (await (await fetch(`${servers[4]!.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(lora.data.map((m) => m.id)).toEqual(['sim/llama-3-8b', 'sql-adapter']);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a bad profile with every problem and exit code 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-sim-'));
    try {
      await writeFile(join(dir, 'fleet.yaml'), 'servers:\n  - name: a\n    maxNumSeqs: 0\n    decodeMsBase: -1\n');
      const result = await runWeft(['sim', 'vllm', '--profile', join(dir, 'fleet.yaml')]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/servers\.0\.maxNumSeqs/);
      expect(result.stderr).toMatch(/servers\.0\.decodeMsBase/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the engines it simulates', async () => {
    const result = await runWeft(['sim', 'sglang']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown engine 'sglang'");
  });
});
