// Upstream servers for sidecar tests, on loopback port 0: an echo server that answers with what
// it received (as JSON), counting the connections it accepted.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** Answers every request with an EchoReply; `?delay=MS` waits before answering. */
export function echoServer(): Promise<TestServer> {
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
      const headers: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
      const reply: EchoReply = { method: req.method ?? '', url: req.url ?? '', headers, bodyBytes, port: (server.address() as AddressInfo).port };
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(reply));
      }, delay);
    });
  });
  return listen(server);
}

export function headerValues(reply: EchoReply, name: string): string[] {
  return reply.headers.filter(([n]) => n === name).map(([, v]) => v);
}
