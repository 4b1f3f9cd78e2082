// nginx (Debian package) as a real peer for interop tests and benchmarks: its own generated
// config in a temp dir, on a loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Nginx {
  readonly port: number;
  readonly child: ChildProcess;
  stop(): void;
}

/** A free loopback port (bound, then released) for programs that need a number up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`nginx exited with ${child.exitCode}`));
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', () => (Date.now() > deadline ? reject(new Error(`nginx never listened on ${port}`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}

/** A directory nginx workers (an unprivileged user) can read, holding `files`. */
export function staticRoot(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-nginx-root-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Starts nginx with `workers` worker processes and one server block listening on a fresh port;
 * `server` is the block's body after `listen`, `listen` extra parameters of it (`ssl`), `http`
 * extra directives in the http block.
 */
export async function startNginx(options: { workers: number; server: string; listen?: string; http?: string }): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'weft-nginx-'));
  mkdirSync(join(prefix, 'logs'));
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(prefix, t)};`).join('\n  ');
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `worker_processes ${options.workers};
daemon off;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'logs', 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${temp}
  keepalive_requests 1000000;
  ${options.http ?? ''}
  server { listen 127.0.0.1:${port} reuseport${options.listen === undefined ? '' : ` ${options.listen}`}; ${options.server} }
}
`,
  );
  const child = spawn('/usr/sbin/nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: 'ignore' });
  await waitForPort(port, child);
  return { port, child, stop: () => void child.kill('SIGTERM') };
}
