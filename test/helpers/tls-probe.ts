// Probes a TLS echo server: the handshake counts as accepted only when data makes the round trip,
// because with TLS 1.3 a client learns that the server refused its certificate after its side of
// the handshake is done.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type ConnectionOptions, type Server, type TlsOptions } from 'node:tls';

export interface ProbeResult {
  readonly accepted: boolean;
  readonly protocol?: string | null;
  readonly alpn?: string | false | null;
  readonly error?: string;
}

export function probe(port: number, options: ConnectionOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...options });
    const fail = (error?: Error) => {
      socket.destroy();
      resolve({ accepted: false, error: error?.message ?? 'connection closed' });
    };
    socket.once('error', fail);
    socket.once('close', () => fail());
    socket.once('secureConnect', () => socket.write('ping'));
    socket.once('data', () => {
      const result = { accepted: true, protocol: socket.getProtocol(), alpn: socket.alpnProtocol };
      socket.removeAllListeners('close');
      socket.destroy();
      resolve(result);
    });
  });
}

export interface EchoServer {
  readonly server: Server;
  readonly port: number;
  /** Client errors the server saw (refused handshakes). */
  readonly clientErrors: string[];
  /**
   * The message of the next handshake the server refuses with a message matching `matching`
   * (a refusal of an earlier probe may still arrive: Node 24's OpenSSL reports some later).
   */
  nextClientError(matching: RegExp): Promise<string>;
  close(): Promise<void>;
}

export async function startEchoServer(options: TlsOptions): Promise<EchoServer> {
  const clientErrors: string[] = [];
  const server = createServer(options, (socket) => socket.pipe(socket));
  server.on('tlsClientError', (error) => clientErrors.push(error.message));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    clientErrors,
    nextClientError: (matching) =>
      new Promise((resolve) => {
        const refused = (error: Error): void => {
          if (!matching.test(error.message)) return;
          server.off('tlsClientError', refused);
          resolve(error.message);
        };
        server.on('tlsClientError', refused);
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
