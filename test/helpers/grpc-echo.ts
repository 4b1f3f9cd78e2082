// A gRPC service for tests, with grpc-js on both ends and raw bytes as messages (no generated
// code): unary, client-streaming, server-streaming and bidi methods whose behaviour each request
// picks through metadata.
import * as grpc from '@grpc/grpc-js';

const raw = (buffer: Buffer): Buffer => buffer;
const method = (name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/weft.test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
});

export const echoService = {
  Unary: method('Unary', false, false),
  Collect: method('Collect', true, false),
  Fanout: method('Fanout', false, true),
  Chat: method('Chat', true, true),
} satisfies grpc.ServiceDefinition;

/** What the server saw, for tests to assert on. */
export interface EchoServerLog {
  cancelled: string[];
  metadata: grpc.Metadata[];
  /** Messages each Fanout call has written so far, in the order the calls arrived. */
  fanoutSent: number[];
}

export interface EchoServer {
  readonly port: number;
  readonly log: EchoServerLog;
  close(): Promise<void>;
}

/** Trailing metadata a call asks for with `x-echo-status`: the status, a message, a binary entry. */
function statusFrom(metadata: grpc.Metadata): grpc.StatusObject | undefined {
  const [code] = metadata.get('x-echo-status');
  if (code === undefined) return undefined;
  const trailer = new grpc.Metadata();
  trailer.set('x-trailer-bin', Buffer.from([0, 1, 2, 254, 255]));
  trailer.set('x-trailer', 'plain');
  return { code: Number(code), details: 'echo: asked to fail ünïcode %', metadata: trailer };
}

export async function startEchoServer(): Promise<EchoServer> {
  const server = new grpc.Server();
  const log: EchoServerLog = { cancelled: [], metadata: [], fanoutSent: [] };
  const watchCancel = (name: string, call: NodeJS.EventEmitter): void => {
    call.on('cancelled', () => log.cancelled.push(name));
  };
  server.addService(echoService, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      log.metadata.push(call.metadata);
      watchCancel('Unary', call);
      const [delay] = call.metadata.get('x-echo-delay-ms');
      const status = statusFrom(call.metadata);
      const reply = (): void => (status !== undefined ? callback(status) : callback(null, call.request, trailerOf(call.metadata)));
      if (delay === undefined) reply();
      else setTimeout(reply, Number(delay));
    },
    Collect: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const parts: Buffer[] = [];
      call.on('data', (part: Buffer) => parts.push(part));
      call.on('end', () => callback(null, Buffer.from(`${parts.length}:${Buffer.concat(parts).toString()}`)));
    },
    Fanout: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      watchCancel('Fanout', call);
      const [count, size] = call.request.toString().split('x').map(Number) as [number, number];
      const payload = Buffer.alloc(size, 0x61);
      const index = log.fanoutSent.push(0) - 1;
      let sent = 0;
      // Writes while the transport takes them, so a reader that stops holds the writer back.
      const pump = (): void => {
        while (sent < count && !call.cancelled) {
          log.fanoutSent[index] = ++sent;
          if (!call.write(payload)) return void call.once('drain', pump);
        }
        if (!call.cancelled) call.end();
      };
      pump();
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      watchCancel('Chat', call);
      call.on('data', (message: Buffer) => call.write(Buffer.concat([Buffer.from('echo:'), message])));
      call.on('end', () => {
        const status = statusFrom(call.metadata);
        if (status !== undefined) call.emit('error', status);
        else call.end();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))),
  );
  return {
    port,
    log,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

function trailerOf(metadata: grpc.Metadata): grpc.Metadata {
  const trailer = new grpc.Metadata();
  const [echo] = metadata.get('x-echo-bin');
  if (echo !== undefined) trailer.set('x-echo-bin', echo);
  return trailer;
}

/** A grpc-js client of the echo service through `port` (a sidecar or the server), as `authority`. */
export function echoClient(port: number, authority: string): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority });
}

export function unary(client: grpc.Client, message: Buffer, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}) {
  return new Promise<{ error: grpc.ServiceError | null; reply: Buffer | undefined; trailers: grpc.Metadata | undefined }>((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const call = client.makeUnaryRequest(echoService.Unary.path, raw, raw, message, metadata, options, (error, reply) => {
      // The status event (with trailers) may follow the callback.
      setImmediate(() => resolve({ error, reply, trailers }));
    });
    call.on('status', (status: grpc.StatusObject) => (trailers = status.metadata));
  });
}
