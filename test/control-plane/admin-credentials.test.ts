// The admin API's bearer tokens: every endpoint but /healthz needs one, a read token cannot
// change anything, and every change (or refused change) is an audit line naming its caller.
import { chmod, mkdir, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWeft } from '../helpers/weft-cli.js';
import { cleanupScope, controlPlaneOn } from './control-plane-fixture.js';
import { spawnControlPlane } from './control-plane-process.js';
import { meshDirectory, ROUTE_YAML, writeFiles } from './mesh-fixture.js';

const { defer } = cleanupScope();

async function inProcess() {
  const cp = await controlPlaneOn(await meshDirectory());
  defer(() => cp.close());
  return cp;
}

const deleteRoute = (headers: Record<string, string>, dryRun = false) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ keys: ['Route/default/orders'], dryRun }),
});

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/** The token with its last character changed: same length, not the token. */
function forged(headers: Record<string, string>): Record<string, string> {
  const value = headers.authorization!;
  return { authorization: `${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}` };
}

describe('admin API credentials', () => {
  it('answers /healthz without a credential and nothing else', async () => {
    const cp = await inProcess();
    expect((await fetch(`${cp.adminUrl}/healthz`)).status).toBe(200);
    for (const path of ['/v1/status', '/v1/resources?kind=Route', '/metrics']) {
      const response = await fetch(`${cp.adminUrl}${path}`);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="weft-admin"');
      expect(await errorOf(response)).toBe('ADMIN_CREDENTIAL_MISSING');
    }
    const anonymous = await fetch(`${cp.adminUrl}/v1/delete`, deleteRoute({}));
    expect(anonymous.status).toBe(401);
    expect(await errorOf(anonymous)).toBe('ADMIN_CREDENTIAL_MISSING');
    const basic = await fetch(`${cp.adminUrl}/v1/status`, { headers: { authorization: 'Basic d2VmdDp3ZWZ0' } });
    expect(await errorOf(basic)).toBe('ADMIN_CREDENTIAL_INVALID');
    expect(cp.audit).toEqual([expect.objectContaining({ event: 'admin.refused', caller: 'none', route: 'POST /v1/delete', code: 'ADMIN_CREDENTIAL_MISSING' })]);
  });

  it('refuses a forged token and a read token for changes; nothing changes and each refusal is audited', async () => {
    const cp = await inProcess();
    const forgedRead = await fetch(`${cp.adminUrl}/v1/status`, { headers: forged(cp.adminHeaders.read) });
    expect(forgedRead.status).toBe(401);
    expect(forgedRead.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await errorOf(forgedRead)).toBe('ADMIN_CREDENTIAL_INVALID');
    const forgedWrite = await fetch(`${cp.adminUrl}/v1/delete`, deleteRoute(forged(cp.adminHeaders.write)));
    expect(await errorOf(forgedWrite)).toBe('ADMIN_CREDENTIAL_INVALID');

    expect((await fetch(`${cp.adminUrl}/v1/status`, { headers: cp.adminHeaders.read })).status).toBe(200);
    expect((await fetch(`${cp.adminUrl}/metrics`, { headers: cp.adminHeaders.read })).status).toBe(200);
    const readOnly = await fetch(`${cp.adminUrl}/v1/delete`, deleteRoute(cp.adminHeaders.read));
    expect(readOnly.status).toBe(403);
    expect(await errorOf(readOnly)).toBe('ADMIN_SCOPE_INSUFFICIENT');
    const routes = (await (await fetch(`${cp.adminUrl}/v1/resources?kind=Route`, { headers: cp.adminHeaders.read })).json()) as { resources: unknown[] };
    expect(routes.resources).toHaveLength(1);
    expect(cp.audit).toEqual([
      expect.objectContaining({ event: 'admin.refused', caller: 'none', code: 'ADMIN_CREDENTIAL_INVALID' }),
      expect.objectContaining({ event: 'admin.refused', caller: expect.stringMatching(/^admin-token:read:[0-9a-f]{8}$/), code: 'ADMIN_SCOPE_INSUFFICIENT' }),
    ]);
  });

  it('applies changes with the write token and audits each with its caller, dry runs and refusals included', async () => {
    const cp = await inProcess();
    const dry = await fetch(`${cp.adminUrl}/v1/delete`, deleteRoute(cp.adminHeaders.write, true));
    expect(dry.status).toBe(200);
    const refused = await fetch(`${cp.adminUrl}/v1/delete`, { ...deleteRoute(cp.adminHeaders.write), body: JSON.stringify({ keys: ['Workload/default/orders'] }) });
    expect(refused.status).toBe(422);
    const done = await fetch(`${cp.adminUrl}/v1/delete`, deleteRoute(cp.adminHeaders.write));
    expect(done.status).toBe(200);
    const caller = expect.stringMatching(/^admin-token:write:[0-9a-f]{8}$/);
    expect(cp.audit).toEqual([
      expect.objectContaining({ event: 'admin.change', caller, route: 'POST /v1/delete', dryRun: true, revision: 1, changes: ['Route/default/orders deleted'], peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) }),
      expect.objectContaining({ event: 'admin.refused', caller, route: 'POST /v1/delete', code: 'CHANGE_REFUSED' }),
      expect.objectContaining({ event: 'admin.change', caller, dryRun: false, revision: 2, changes: ['Route/default/orders deleted'] }),
    ]);
  });

  // Two control-plane starts and seven CLI runs: past the default 30 s on the loaded machine.
  it('weft control-plane creates 0600 token files, keeps them across restarts, and the CLI finds or is given them', { timeout: 90_000 }, async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'weft-cwd-'));
    const dir = await meshDirectory();
    const state = join(cwd, '.weft', 'control-plane');
    const first = await spawnControlPlane(dir, state);
    defer(() => first.kill());
    expect(first.tokenFiles).toEqual({ read: join(state, 'admin-read.token'), write: join(state, 'admin-write.token') });
    expect(first.output()).toContain(`admin tokens (Authorization: Bearer): ${first.tokenFiles.write} (write), ${first.tokenFiles.read} (read)`);
    for (const file of Object.values(first.tokenFiles)) expect((await stat(file)).mode & 0o777).toBe(0o600);
    const writeToken = (await readFile(first.tokenFiles.write, 'utf8')).trim();
    const readToken = (await readFile(first.tokenFiles.read, 'utf8')).trim();
    const url = ['--control-plane', first.admin];
    const noToken = { WEFT_TOKEN: '' };

    const elsewhere = await mkdtemp(join(tmpdir(), 'weft-cwd-'));
    const anonymous = await runWeft(['get', 'routes', ...url], { cwd: elsewhere, env: noToken });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('(ADMIN_CREDENTIAL_MISSING)');
    // In the control plane's working directory the default state directory holds the tokens.
    expect((await runWeft(['get', 'routes', ...url], { cwd, env: noToken })).stdout).toContain('orders');
    expect((await runWeft(['get', 'routes', ...url], { cwd: elsewhere, env: { WEFT_TOKEN: readToken } })).code).toBe(0);

    const change = await mkdtemp(join(tmpdir(), 'weft-change-'));
    await writeFiles(change, { 'route.yaml': ROUTE_YAML.replace('timeout: 2s', 'timeout: 4s') });
    const readOnly = await runWeft(['apply', '-f', change, ...url], { cwd: elsewhere, env: { WEFT_TOKEN: readToken } });
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toContain('(ADMIN_SCOPE_INSUFFICIENT)');
    const applied = await runWeft(['apply', '-f', change, ...url, '--token-file', first.tokenFiles.write], { cwd: elsewhere, env: noToken });
    expect(applied.stdout).toBe('Route/default/orders configured\nrevision 2\n');
    const audit = first.output().split('\n').filter((line) => line.includes('"component":"admin"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit.map((entry) => [entry.event, entry.caller])).toEqual([
      ['admin.refused', expect.stringMatching(/^admin-token:read:/)],
      ['admin.change', expect.stringMatching(/^admin-token:write:/)],
    ]);
    expect(first.output()).not.toContain(writeToken);

    await first.kill();
    const again = await spawnControlPlane(dir, state);
    defer(() => again.kill());
    expect((await readFile(again.tokenFiles.write, 'utf8')).trim()).toBe(writeToken);
    expect((await runWeft(['status', '--control-plane', again.admin], { cwd, env: noToken })).code).toBe(0);
  });

  it('refuses to start with a token file that others may read, and the CLI refuses an unreadable --token-file', async () => {
    const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
    await mkdir(state, { recursive: true });
    const first = await spawnControlPlane(await meshDirectory(), state);
    const files = first.tokenFiles;
    await first.kill();
    await chmod(files.read, 0o644);
    const exposed = await runWeft(['control-plane', '--store', `file:${await meshDirectory()}`, '--grpc-port', '0', '--admin-port', '0', '--state-dir', state]);
    expect(exposed.code).toBe(2);
    expect(exposed.stderr).toContain(`${files.read} has mode 644; run 'chmod 600 ${files.read}'`);
    const missing = await runWeft(['status', '--control-plane', 'http://127.0.0.1:1', '--token-file', join(state, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot read the admin token ${join(state, 'nope')}: ENOENT`);
    for (const result of [exposed, missing]) expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
