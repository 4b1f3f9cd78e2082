// The security fuzzer (test/security/request-fuzzer.ts) run longer, and against a second app
// that reads paths its own way: Python's http.server (python3, Debian), which percent-decodes the
// path, `%2F` included, and normalizes it with posixpath.normpath, as SimpleHTTPRequestHandler
// does. For such an app Istio recommends DECODE_AND_MERGE_SLASHES (or refusing escaped
// slashes): the invariant holds under both.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fuzz } from '../security/request-fuzzer.js';
import { send, startSecurityMesh, type RecordingApp, type SecurityMesh, type Served } from '../security/security-mesh.js';

const script = fileURLToPath(new URL('./recording_app.py', import.meta.url));

async function pythonApp(): Promise<RecordingApp> {
  const child = spawn('/usr/bin/python3', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const served: Served[] = [];
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`python app exited ${code}`)));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (/^\d+$/.test(line)) resolve(Number(line));
        else served.push({ ...(JSON.parse(line) as Omit<Served, 'host' | 'originalPath'>), host: '', originalPath: undefined });
        newline = buffered.indexOf('\n');
      }
    });
  });
  return {
    port,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

async function withMesh(pathNormalization: Record<string, unknown> | undefined, startApp: (() => Promise<RecordingApp>) | undefined, run: (mesh: SecurityMesh) => Promise<void>): Promise<void> {
  const mesh = await startSecurityMesh(pathNormalization, startApp);
  try {
    await run(mesh);
  } finally {
    await mesh.stop();
  }
}

describe('request fuzzer, long runs', () => {
  it('10,000 requests to the Node app under the default normalization', async () => {
    await withMesh(undefined, undefined, async (mesh) => {
      const report = await fuzz(mesh, 1, 10_000, 32);
      expect(report.violations).toEqual([]);
      expect(report.servedProtected).toBeGreaterThan(100);
    });
  });

  it('10,000 requests to the Python http.server app under DECODE_AND_MERGE_SLASHES', async () => {
    await withMesh({ normalization: 'DECODE_AND_MERGE_SLASHES' }, pythonApp, async (mesh) => {
      const report = await fuzz(mesh, 2, 10_000, 32);
      expect(report.violations).toEqual([]);
      expect(report.servedProtected).toBeGreaterThan(100);
    });
  });

  it('10,000 requests to the Python http.server app with escaped slashes refused', async () => {
    await withMesh({ escapedSlashesAction: 'REJECT_REQUEST' }, pythonApp, async (mesh) => {
      const report = await fuzz(mesh, 3, 10_000, 32);
      expect(report.violations).toEqual([]);
      expect(report.servedProtected).toBeGreaterThan(100);
    });
  });

  it('the Python app is reached through encoded slashes only on the path the policy decided', async () => {
    await withMesh({ normalization: 'DECODE_AND_MERGE_SLASHES' }, pythonApp, async (mesh) => {
      for (const target of ['/public/x%2F..%2F..%2Forders%2Fadmin', '/public/%2e%2e%5ccustomers/c-17', '/public//..//orders/admin']) {
        const { status } = await send(mesh, 'http/1.1', 'outbound', { target });
        expect(status).toBe(403);
      }
      expect(mesh.app.served).toEqual([]);
    });
  });
});
