// Upstream servers for sidecar tests, on loopback port 0: an echo server that answers with what
// it received (as JSON), counting the connections it accepted; a server answering one status and
// counting requests (holding them when asked); one that drops connections; and a port nothing listens on.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface EchoReply {
  method: string;
  url: string;
  /** Raw headers as received, names lower-cased, in order. */
  headers: [string, string][];
  bodyBytes: number;
  port: number;
}

export interface TestServer {
  readonly server: http.Server;
  readonly port: number;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

export async function listen(server: http.Server): Promise<TestServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const result: TestServer = {
    server,
    port: (server.address() as AddressInfo).port,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => result.connections++);
  return result;
}

export interface EchoServer extends TestServer {
  /** Answers every request held with `?hold` so far. */
  releaseHeld(): void;
}

/**
 * Answers every request with an EchoReply; `?delay=MS` waits before answering, `?hold` waits
 * until the test calls `releaseHeld()` (for a request that must stay in flight, however slow the
 * machine).
 */
export async function echoServer(): Promise<EchoServer> {
  let held: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      const delay = Number(query.get('delay') ?? 0);
      const headers: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
      const reply: EchoReply = { method: req.method ?? '', url: req.url ?? '', headers, bodyBytes, port: (server.address() as AddressInfo).port };
      const answer = (): void => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(reply));
      };
      if (query.has('hold')) held.push(answer);
      else setTimeout(answer, delay);
    });
  });
  const base = await listen(server);
  return Object.assign(base, {
    releaseHeld: () => {
      const answers = held;
      held = [];
      for (const answer of answers) answer();
    },
  });
}

export function headerValues(reply: EchoReply, name: string): string[] {
  return reply.headers.filter(([n]) => n === name).map(([, v]) => v);
}

export interface StatusServer extends TestServer {
  /** Requests received so far. */
  hits: number;
}

export interface HoldingStatusServer extends StatusServer {
  /** While true, each request waits for `releaseHeld()` (however slow the machine, it stays in flight). */
  holding: boolean;
  /** Requests waiting now. */
  readonly held: number;
  /** Answers every request waiting now. */
  releaseHeld(): void;
}

/** Answers every request with `status`, counting the requests; `holding` keeps them waiting. */
export async function statusServer(status: number, holding = false): Promise<HoldingStatusServer> {
  let hits = 0;
  let held: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => {
      const answer = (): void => void res.writeHead(status, { 'content-length': '0' }).end();
      if (result.holding) held.push(answer);
      else answer();
    });
  });
  const result = Object.defineProperties(await listen(server), {
    hits: { get: () => hits },
    held: { get: () => held.length },
    holding: { value: holding, writable: true },
    releaseHeld: {
      value: () => {
        const answers = held;
        held = [];
        for (const answer of answers) answer();
      },
    },
  }) as HoldingStatusServer;
  return result;
}

/** Accepts connections and drops each as soon as a request arrives; `hits` counts them. */
export async function resettingServer(): Promise<StatusServer> {
  let hits = 0;
  const server = net.createServer((socket) =>
    socket.once('data', () => {
      hits++;
      socket.destroy();
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server: server as unknown as http.Server,
    port: (server.address() as AddressInfo).port,
    connections: 0,
    get hits() {
      return hits;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
