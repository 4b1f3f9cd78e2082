// An etcd cluster (Debian etcd-server, or $ETCD_BIN) on loopback for interop tests; every member
// is killed by the caller's cleanup scope.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unusedPort, until } from '../control-plane/control-plane-fixture.js';

/** Starts `size` members; returns each member's client URL and process. */
export async function startEtcd(defer: (cleanup: () => void) => void, size = 1): Promise<{ urls: string[]; members: ChildProcess[] }> {
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await unusedPort(), peer: await unusedPort() });
  const cluster = ports.map((p, i) => `n${i}=http://127.0.0.1:${p.peer}`).join(',');
  const urls = ports.map((p) => `http://127.0.0.1:${p.client}`);
  const members: ChildProcess[] = [];
  for (const [i, p] of ports.entries()) {
    const dataDir = await mkdtemp(join(tmpdir(), 'weft-etcd-'));
    const member = spawn(
      process.env.ETCD_BIN ?? 'etcd',
      ['--name', `n${i}`, '--data-dir', dataDir, '--listen-client-urls', urls[i]!, '--advertise-client-urls', urls[i]!,
        '--listen-peer-urls', `http://127.0.0.1:${p.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`,
        '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--log-level', 'error'],
      { stdio: 'ignore' },
    );
    members.push(member);
    defer(() => {
      member.kill('SIGKILL');
    });
  }
  for (const url of urls) await until(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true, `etcd at ${url} to be healthy`, 30_000);
  return { urls, members };
}
