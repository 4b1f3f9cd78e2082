// Ports for the local mesh: free ones chosen by the OS, and fixed ones checked before anything
// starts, so that a port in use is reported by the name of what wanted it and how to fix it.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

export interface PortWish {
  /** What the port is for, as the user knows it, e.g. `orders app (workloads.orders.appPort)`. */
  readonly name: string;
  readonly fixed: number | undefined;
  /** How to choose another, e.g. `change or remove workloads.orders.appPort in weft-up.json`. */
  readonly fix: string;
}

export class PortInUseError extends Error {
  readonly exitCode = 2;
}

/** Every wish gets a port: fixed ones checked, the others free and distinct. */
export async function assignPorts(wishes: readonly PortWish[]): Promise<number[]> {
  const ports: number[] = [];
  const taken = new Set<number>();
  for (const wish of wishes) {
    let port = wish.fixed;
    if (port !== undefined) {
      if (taken.has(port) || (await portInUse(port))) {
        throw new PortInUseError(`port ${port} for the ${wish.name} is already in use: stop what uses it (\`ss -ltnp 'sport = :${port}'\` shows it) or ${wish.fix}`);
      }
    } else {
      do port = await freePort();
      while (taken.has(port));
    }
    taken.add(port);
    ports.push(port);
  }
  return ports;
}
