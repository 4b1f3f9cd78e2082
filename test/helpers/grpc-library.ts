// The library.v1.Library gRPC service of test/proxy/bridge/fixtures/library.proto in grpc-js, its
// messages read and written by protobufjs from the fixture's descriptor set; the interop test
// runs the same behaviour in python3-grpcio (test/interop/grpc_library_service.py):
//   GetBook      a book named by `name` (id: its last segment); .../books/404 is NOT_FOUND
//   ListBooks    echoes the request it received (protobufjs JSON) in next_page_token
//   CreateBook   the book, id = shelf_id * 1000 + 1
//   UpdateBook   the book, title suffixed with " (reason)"
//   GetShelf     { id, title: "Shelf <id>" };  DeleteBook: Empty
//   Fail         answers the status code and message the request names (code 3 with a detail)
//   Echo         the book as received; a book titled "slow" answers after 2 s
//   WatchBooks   a stream of page_size books { id: shelf_id * 1000 + i, title: "Book i" }, then
//                NOT_FOUND "shelf gone" when the tags include "fail"
//   ImportBooks  the books streamed in, each with id = its position (1, 2, ...), and their count
//                in next_page_token
//   ChatBooks    each book streamed in answered as it comes, titled "Re: <title>"
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type * as Protobuf from 'protobufjs';
import { readDescriptorSet } from '../../proxy/filters/bridge/grpc/descriptor-set.js';

export const LIBRARY_DESCRIPTOR_SET = join(import.meta.dirname, '..', 'proxy', 'bridge', 'fixtures', 'library.pb');

export interface LibraryServer {
  readonly port: number;
  /** Requests as received, `{ method, request }` (protobufjs toObject, longs as strings). */
  readonly received: { method: string; request: Record<string, unknown> }[];
  /** Per request received, whether it came with a deadline (grpc-timeout). */
  readonly deadlines: boolean[];
  close(): Promise<void>;
}

type Handler = (request: Record<string, unknown>) => Record<string, unknown> | grpc.ServiceError | Promise<Record<string, unknown>>;

export async function startLibraryServer(): Promise<LibraryServer> {
  const { root } = readDescriptorSet(readFileSync(LIBRARY_DESCRIPTOR_SET));
  const service = root.lookupService('library.v1.Library');
  const received: LibraryServer['received'] = [];
  const deadlines: boolean[] = [];
  const asObject = (type: Protobuf.Type, message: Protobuf.Message) => type.toObject(message, { longs: String, enums: String, bytes: String, defaults: false });
  const status = (code: number, details: string, metadata = new grpc.Metadata()) => Object.assign(new Error(details), { code, details, metadata }) as grpc.ServiceError;
  const handlers: Record<string, Handler> = {
    GetBook: (request) => {
      const name = String(request.name ?? '');
      const id = name.slice(name.lastIndexOf('/') + 1);
      return id === '404' ? status(grpc.status.NOT_FOUND, `no book ${name}`) : { id, title: `Book ${name}` };
    },
    ListBooks: (request) => ({ next_page_token: JSON.stringify(request) }),
    CreateBook: (request) => ({ ...(request.book as object), id: String(BigInt(String(request.shelf_id ?? 0)) * 1000n + 1n) }),
    UpdateBook: (request) => {
      const book = request.book as Record<string, unknown>;
      return { ...book, title: `${String(book.title ?? '')} (${String(request.reason ?? '')})` };
    },
    GetShelf: (request) => ({ id: request.id, title: `Shelf ${String(request.id)}` }),
    DeleteBook: () => ({}),
    Fail: (request) => {
      const code = Number(request.code ?? 2);
      const metadata = new grpc.Metadata();
      if (code === grpc.status.INVALID_ARGUMENT) {
        // google.rpc.Status { code: 3, message, details: [Any { type_url, value: library.v1.Author { display_name: "detail" } }] },
        // written field by field (tag, length, bytes): the set has no google.rpc types.
        const author = root.lookupType('library.v1.Author');
        const field = (tag: number, bytes: Uint8Array) => Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
        const any = Buffer.concat([field(0x0a, Buffer.from('type.googleapis.com/library.v1.Author')), field(0x12, author.encode(author.fromObject({ display_name: 'detail' })).finish())]);
        metadata.set('grpc-status-details-bin', Buffer.concat([Buffer.from([0x08, code]), field(0x12, Buffer.from(String(request.message ?? ''))), field(0x1a, any)]));
      }
      return status(code, String(request.message ?? ''), metadata);
    },
    Echo: (request) => (request.title === 'slow' ? new Promise((resolve) => setTimeout(() => resolve(request), 2000)) : request),
  };
  const inStreams: Record<string, (call: grpc.ServerReadableStream<Record<string, unknown>, unknown> | grpc.ServerDuplexStream<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => void> = {
    ImportBooks: (call, callback) => {
      const books: Record<string, unknown>[] = [];
      call.on('data', (book: Record<string, unknown>) => books.push({ ...book, id: String(books.length + 1) }));
      call.on('end', () => callback(null, { books, next_page_token: String(books.length) }));
    },
    ChatBooks: (call) => {
      const duplex = call as grpc.ServerDuplexStream<Record<string, unknown>, unknown>;
      duplex.on('data', (book: Record<string, unknown>) => duplex.write({ ...book, title: `Re: ${String(book.title ?? '')}` }));
      duplex.on('end', () => duplex.end());
    },
  };
  const streams: Record<string, (request: Record<string, unknown>, call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => void> = {
    WatchBooks: (request, call) => {
      const shelf = BigInt(String(request.shelf_id ?? 0));
      for (let i = 1; i <= Number(request.page_size ?? 0); i++) call.write({ id: String(shelf * 1000n + BigInt(i)), title: `Book ${i}` });
      // grpc-js sends a status after the messages written when the call emits it as an error.
      if ((request.tags as string[] | undefined)?.includes('fail')) call.emit('error', status(grpc.status.NOT_FOUND, 'shelf gone'));
      else call.end();
    },
  };
  const definition: Record<string, grpc.MethodDefinition<Record<string, unknown>, Record<string, unknown>>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methodsArray) {
    const requestType = method.resolvedRequestType!;
    const responseType = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/library.v1.Library/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: (value: Record<string, unknown>) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => asObject(requestType, requestType.decode(bytes)),
      responseSerialize: (value: Record<string, unknown>) => Buffer.from(responseType.encode(responseType.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => asObject(responseType, responseType.decode(bytes)),
    };
    const inStream = inStreams[method.name];
    if (inStream !== undefined) {
      implementation[method.name] = (call: grpc.ServerReadableStream<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const messages: Record<string, unknown>[] = [];
        received.push({ method: method.name, request: { messages } });
        call.on('data', (message: Record<string, unknown>) => messages.push(message));
        inStream(call, callback);
      };
    }
    const stream = streams[method.name];
    if (stream !== undefined) {
      implementation[method.name] = (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => {
        received.push({ method: method.name, request: call.request });
        deadlines.push(Number.isFinite(Number(call.getDeadline())));
        stream(call.request, call);
      };
    }
    const handler = handlers[method.name];
    if (handler === undefined) continue;
    implementation[method.name] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      received.push({ method: method.name, request: call.request });
      deadlines.push(Number.isFinite(Number(call.getDeadline())));
      Promise.resolve(handler(call.request)).then(
        (answer) => (answer instanceof Error ? callback(answer) : callback(null, answer)),
        (error: Error) => callback(status(grpc.status.INTERNAL, error.message)),
      );
    };
  }
  const server = new grpc.Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))),
  );
  return { port, received, deadlines, close: async () => server.forceShutdown() };
}
