import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { existsSync } from 'node:fs';
import { create } from 'tar';
import { describe, expect, it } from 'vitest';
import { BundleError, loadBundle } from '../../policies/index.js';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bundle-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function archive(dir: string, entries: string[], preservePaths = false): Promise<Buffer> {
  const out = join(dir, 'bundle.tar.gz');
  await create({ gzip: true, cwd: dir, file: out, portable: true, preservePaths }, entries);
  return readFileSync(out);
}

/** `opa` from OPA_BIN or PATH, for the wasm test. */
function opaBinary(): string | undefined {
  if (process.env['OPA_BIN'] && existsSync(process.env['OPA_BIN'])) return process.env['OPA_BIN'];
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'opa'))) return join(dir, 'opa');
  }
  return undefined;
}

describe('policy bundles', () => {
  it('loads a Rego source bundle with data and a manifest rego_version of 0', async () => {
    const dir = tree({
      '.manifest': JSON.stringify({ rego_version: 0, roots: ['authz', 'users'] }),
      'authz/policy.rego': 'package authz\ndefault allow = false\nallow { data.users.admins[_] == input.user }\n',
      'users/data.json': JSON.stringify({ admins: ['alice'] }),
    });
    const policy = await loadBundle(await archive(dir, ['.manifest', 'authz', 'users']));
    expect(policy.evaluate('data.authz.allow', { input: { user: 'alice' } }).value).toBe(true);
    expect(policy.evaluate('authz/allow', { input: { user: 'eve' } }).value).toBe(false);
  });

  it('reads per-file Rego versions from the manifest', async () => {
    const dir = tree({
      '.manifest': JSON.stringify({ rego_version: 1, file_rego_versions: { '/legacy/old.rego': 0 } }),
      'legacy/old.rego': 'package legacy\nallow { input.ok }\n',
      'modern.rego': 'package modern\nimport data.legacy\nallow if legacy.allow\n',
    });
    const policy = await loadBundle(await archive(dir, ['.manifest', 'legacy', 'modern.rego']));
    expect(policy.evaluate('data.modern.allow', { input: { ok: true } }).value).toBe(true);
  });

  it('defaults to Rego v1 and reports parse errors of the bundle files', async () => {
    const dir = tree({ 'p.rego': 'package p\nallow { true }\n' });
    await expect(loadBundle(await archive(dir, ['p.rego']))).rejects.toThrow(/p\.rego:2:7: rego_parse_error/);
  });

  it('refuses entries that escape the bundle and archives that are not tar', async () => {
    const parent = tree({ 'evil.rego': 'package evil\n', 'inner/ok.rego': 'package ok\n' });
    const bytes = await archive(join(parent, 'inner'), ['../evil.rego', 'ok.rego'], true);
    await expect(loadBundle(bytes)).rejects.toThrow(/escapes the bundle/);
    await expect(loadBundle(Buffer.from('not a tar archive at all'.repeat(40)))).rejects.toThrow(BundleError);
  });

  const opa = opaBinary();
  it.skipIf(opa === undefined)('loads an `opa build -t wasm` bundle (skipped: no opa binary on PATH or OPA_BIN)', async () => {
    const dir = tree({ 'authz.rego': 'package authz\nimport rego.v1\ndefault allow := false\nallow if input.user in data.admins\n', 'data.json': '{"admins": ["alice"]}' });
    execFileSync(opa!, ['build', '-t', 'wasm', '-e', 'authz/allow', '-o', join(dir, 'bundle.tar.gz'), 'authz.rego', 'data.json'], { cwd: dir });
    const policy = await loadBundle(join(dir, 'bundle.tar.gz'));
    expect(policy.evaluate('data.authz.allow', { input: { user: 'alice' } }).value).toBe(true);
    expect(policy.evaluate('authz/allow', { input: { user: 'eve' } }).value).toBe(false);
  });
});
