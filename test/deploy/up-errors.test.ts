// `weft up` refusing to start: what the user sees is one clear message and exit code 2, with
// nothing left running.
import { mkdtemp, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runWeft } from '../helpers/weft-cli.js';
import { copyOfDemo } from './up-fixture.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function occupiedPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('weft up refuses to start', () => {
  it('names a port in use and how to fix it, without a stack trace', async () => {
    const dir = await copyOfDemo();
    const manifestFile = join(dir, 'weft-up.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { workloads: Record<string, Record<string, unknown>> };
    const port = await occupiedPort();
    manifest.workloads.orders!.appPort = port;
    await writeFile(manifestFile, JSON.stringify(manifest));
    const cwd = await mkdtemp(join(tmpdir(), 'weft-up-cwd-'));
    const result = await runWeft(['up', dir], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`port ${port} for the orders app port (workloads.orders.appPort) is already in use`);
    expect(result.stderr).toContain(`change or remove workloads.orders.appPort in ${manifestFile}`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('lists every problem of a bad manifest', async () => {
    const dir = await copyOfDemo();
    await writeFile(join(dir, 'weft-up.json'), JSON.stringify({ workloads: { web: { command: [] }, Orders: { command: ['x'] } }, traffic: [{ from: 'nobody', url: 'ftp://x' }] }));
    const result = await runWeft(['up', dir], { cwd: await mkdtemp(join(tmpdir(), 'weft-up-cwd-')) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('workloads.web.command: must NOT have fewer than 1 items');
    expect(result.stderr).toContain('traffic.0.url: must match pattern');
    expect(result.stderr).toContain('property name must be valid');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('stops with every problem when the directory does not validate, leaving nothing running', async () => {
    const dir = await copyOfDemo();
    await writeFile(join(dir, 'policies', 'principal-allow-list.rego'), 'package weft.authz\n\nallow if input.x ==\n');
    const result = await runWeft(['up', dir], { cwd: await mkdtemp(join(tmpdir(), 'weft-up-cwd-')) });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/control-plane +\| +policies\/principal-allow-list\.rego:\d+:\d+: /);
    expect(result.stdout).toContain('weft up: control-plane exited (exit code 2) before the mesh was ready');
    expect(result.stdout).toMatch(/weft up: stopped in/);
    // The apps, started beside the control plane, ran in DIR: none is left there.
    const cwds = await Promise.all((await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map((e) => readlink(`/proc/${e}/cwd`).catch(() => '')));
    expect(cwds.filter((cwd) => cwd === dir)).toEqual([]);
  });

  it('says where the manifest is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-up-empty-'));
    const result = await runWeft(['up', dir], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no weft-up.json in ${dir}`);
  });
});
