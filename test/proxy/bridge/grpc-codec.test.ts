// The gRPC codec on the fixture's descriptor set (library.proto): operations and routes from the
// google.api.http rules, the proto3 JSON mapping both ways, strictness, status mapping, path
// templates and the OpenAPI document (validated by a real OpenAPI validator).
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { bridgeErrorBody } from '../../../proxy/filters/bridge/bridge-errors.js';
import { openApiDocument } from '../../../proxy/filters/bridge/bridge-openapi.js';
import { compileRoutes, matchRoute, routeArguments, routeResult, type CompiledRoute } from '../../../proxy/filters/bridge/bridge-routes.js';
import type { JsonObject, JsonValue } from '../../../proxy/filters/bridge/codec.js';
import { grpcCodecFactory, type GrpcCodec } from '../../../proxy/filters/bridge/grpc/grpc-codec.js';
import { httpStatusOfGrpc } from '../../../proxy/filters/bridge/grpc/grpc-status.js';
import { compilePathTemplate } from '../../../proxy/filters/bridge/path-template.js';
import { bridgeError } from './thrown-bridge-error.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
let codec: GrpcCodec;
let routes: CompiledRoute[];

beforeAll(async () => {
  codec = (await grpcCodecFactory.load({ descriptorSet: 'library.pb' }, { baseDirectory: FIXTURES, timeoutMs: 5000 })) as GrpcCodec;
  routes = compileRoutes(codec, []);
});


/** The arguments a request gives, through the route it matches. */
function argsOf(method: string, target: string, body?: JsonValue): { operation: string; args: JsonObject; route: CompiledRoute } {
  const [path, query] = target.split('?') as [string, string?];
  const match = matchRoute(routes, method, path);
  return { operation: match.route.operation.name, args: routeArguments(match, query === undefined ? undefined : new URLSearchParams(query), body) as JsonObject, route: match.route };
}

/** A request encoded and decoded again by protobufjs' own reader, as the server would see it. */
function roundTrip(operation: string, args: JsonObject): JsonObject {
  return codec.encodeRequest(operation, args).args as JsonObject;
}

/** A gRPC response of one message, as the server would frame it. */
function grpcResponse(bytes: Uint8Array, trailers: Record<string, string> = { 'grpc-status': '0' }) {
  const body = Buffer.alloc(5 + bytes.length);
  body.writeUInt32BE(bytes.length, 1);
  body.set(bytes, 5);
  return { status: 200, headers: { 'content-type': 'application/grpc', ...trailers }, body };
}

describe('the grpc codec: operations and routes from the descriptor set', () => {
  it('has every method of the service as an operation, streams marked', () => {
    expect([...codec.operations.keys()]).toEqual(
      ['GetBook', 'ListBooks', 'CreateBook', 'UpdateBook', 'GetShelf', 'DeleteBook', 'Fail', 'Echo', 'WatchBooks', 'ImportBooks', 'ChatBooks'].map((name) => `library.v1.Library.${name}`),
    );
    const streams = (name: string) => {
      const operation = codec.operations.get(`library.v1.Library.${name}`)!;
      return [operation.argumentStream === true, operation.resultStream === true];
    };
    expect(['Echo', 'WatchBooks', 'ImportBooks', 'ChatBooks'].map(streams)).toEqual([
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ]);
  });

  it('takes a stream of messages as the JSON body array, each message framed in order', () => {
    const match = matchRoute(routes, 'POST', '/v1/books:import');
    const args = routeArguments(match, undefined, [{ title: 'A' }, { read_time: '1.5s', pages: 3 }]);
    expect(args).toEqual([{ title: 'A' }, { read_time: '1.5s', pages: 3 }]);
    const request = codec.encodeStreamRequest('library.v1.Library.ImportBooks', args as JsonObject[]);
    // Policies see each message in its canonical JSON.
    expect(request.args).toEqual([{ title: 'A' }, { readTime: '1.500s', pages: 3 }]);
    const first = request.body.readUInt32BE(1);
    expect([request.body[0], request.body[5 + first], request.body.length]).toEqual([0, 0, 5 + first + 5 + request.body.readUInt32BE(5 + first + 1)]);
    expect(codec.encodeStreamRequest('library.v1.Library.ImportBooks', []).body.length).toBe(0);
    expect(routeArguments(match, undefined, undefined)).toEqual([]);
    const refused = (body: JsonValue, query?: string) => bridgeError(() => routeArguments(match, query === undefined ? undefined : new URLSearchParams(query), body)).message;
    expect(refused({ title: 'A' })).toBe('/: library.v1.Library.ImportBooks takes a stream of messages: the request body must be a JSON array of objects');
    expect(refused([{ title: 'A' }, 'B'])).toMatch(/must be a JSON array of objects/);
    expect(refused([], 'pageSize=1')).toBe('query parameter pageSize: library.v1.Library.ImportBooks takes a stream of messages, from the body only');
    expect(bridgeError(() => codec.encodeStreamRequest('library.v1.Library.ImportBooks', [{ title: 'A' }, { colour: 'red' }])).message).toBe('/1/colour: unknown field of library.v1.Book');
  });

  it('refuses a route that would put part of a stream of messages in the path', () => {
    expect(() => compileRoutes(codec, [{ method: 'POST', path: '/v1/books/{id}:import', operation: 'library.v1.Library.ImportBooks' }])).toThrow(
      'route POST /v1/books/{id}:import: library.v1.Library.ImportBooks takes a stream of messages, the whole body only (body "*", no path variables)',
    );
  });

  it('matches path templates, additional bindings and the default route', () => {
    expect(argsOf('GET', '/v1/shelves/1/books/2')).toMatchObject({ operation: 'library.v1.Library.GetBook', args: { name: 'shelves/1/books/2' } });
    expect(argsOf('GET', '/v1/shelves/7/books').args).toEqual({ shelfId: '7' });
    expect(argsOf('GET', '/v1/books').operation).toBe('library.v1.Library.ListBooks');
    expect(argsOf('PATCH', '/v1/books/9', { book: { title: 'T' }, reason: 'typo' }).args).toEqual({ book: { title: 'T', id: '9' }, reason: 'typo' });
    expect(argsOf('POST', '/grpc/library.v1.Library/Echo', { title: 'x' }).args).toEqual({ title: 'x' });
    expect(bridgeError(() => matchRoute(routes, 'GET', '/v1/shelves/1/novels')).code).toBe('UNKNOWN_ROUTE');
    expect(bridgeError(() => matchRoute(routes, 'GET', '/v1/shelves/1/books/2/extra')).status).toBe(404);
    expect(bridgeError(() => matchRoute(routes, 'PUT', '/v1/books/9')).status).toBe(404);
  });

  it('puts the body where the rule says: one field, the whole message, or nowhere', () => {
    expect(argsOf('POST', '/v1/shelves/3/books', { title: 'Dune', pages: 412 }).args).toEqual({ book: { title: 'Dune', pages: 412 }, shelfId: '3' });
    expect(bridgeError(() => argsOf('GET', '/v1/shelves/3/books', { a: 1 })).message).toBe('/: GET /v1/shelves/{shelf_id}/books takes no request body');
    expect(bridgeError(() => argsOf('PATCH', '/v1/books/9', { book: { id: '8' } })).message).toBe('/book/id: given both in the path and in the body');
    expect(bridgeError(() => argsOf('PATCH', '/v1/books/9', [1])).status).toBe(400);
  });

  it('sets non-path fields from query parameters: nested with dots, repeated, typed; unknown ones are 400', () => {
    const { args } = argsOf('GET', '/v1/shelves/7/books?pageSize=10&tags=a&tags=b&genre=FICTION&author.displayName=Le%20Guin&available=true');
    expect(args).toEqual({ shelfId: '7', pageSize: 10, tags: ['a', 'b'], genre: 'FICTION', author: { displayName: 'Le Guin' }, available: true });
    expect(roundTrip('library.v1.Library.ListBooks', args)).toEqual(args);
    expect(bridgeError(() => argsOf('GET', '/v1/books?colour=red')).message).toBe('query parameter colour: library.v1.Library.ListBooks has no such field');
    expect(bridgeError(() => argsOf('GET', '/v1/shelves/7/books?shelfId=8')).message).toBe('query parameter shelfId: the field is set by the path or the body');
    expect(bridgeError(() => argsOf('GET', '/v1/books?pageSize=1&pageSize=2')).message).toBe('query parameter pageSize: given 2 times for a single field');
    expect(bridgeError(() => argsOf('GET', '/v1/books?pageSize=ten')).message).toBe("/pageSize: 'ten' is not a integer");
    // Proto names too, as grpc-gateway takes them: the same fields, and one field under both names is a 400.
    expect(argsOf('GET', '/v1/books?page_size=10&author.display_name=Ada').args).toEqual({ pageSize: 10, author: { displayName: 'Ada' } });
    expect(bridgeError(() => argsOf('GET', '/v1/shelves/7/books?shelf_id=8')).message).toBe('query parameter shelf_id: the field is set by the path or the body');
    expect(bridgeError(() => argsOf('GET', '/v1/books?pageSize=1&page_size=2')).message).toBe('query parameter page_size: the field is given as pageSize too');
    expect(bridgeError(() => argsOf('POST', '/v1/fail?code=3', { code: 3 })).status).toBe(400);
  });

  it('answers the response_body field where a binding names one', () => {
    const { route } = argsOf('GET', '/v1/shelves/5/title');
    expect(routeResult(route, { id: '5', title: 'Shelf 5' })).toBe('Shelf 5');
    expect(routeResult(argsOf('GET', '/v1/shelves/5').route, { id: '5', title: 'Shelf 5' })).toEqual({ id: '5', title: 'Shelf 5' });
  });
});

describe('the proto3 JSON mapping', () => {
  const book: JsonObject = {
    id: '9223372036854775807',
    title: 'Ünïcode <&>',
    isbn: '18446744073709551615',
    genre: 'HISTORY',
    cover: 'AAEC/w==',
    published: '2026-12-03T15:30:00.123Z',
    readTime: '5400.500s',
    rating: 0,
    extra: { a: [1, 'two', null, { b: true }] },
    tags: ['x', 'y'],
    counts: { read: '12', '-1': '-9007199254740993' },
    price: 12.5,
    available: true,
    pages: -3,
    author: { displayName: 'Ada', born: 1815 },
    ebookUrl: 'https://example.test/book',
    reviewers: [{ displayName: 'B' }, {}],
    weight: 'Infinity',
    offset: '-5',
    checksum: '1',
    note: { '@type': 'type.googleapis.com/library.v1.Author', displayName: 'in an Any' },
  };

  it('carries every kind of field exactly, both ways (int64 and uint64 as strings, enums as names, bytes base64, well-known types)', () => {
    expect(roundTrip('library.v1.Library.Echo', book)).toEqual(book);
    const encoded = codec.encodeRequest('library.v1.Library.Echo', book);
    expect(codec.decodeResponse('library.v1.Library.Echo', grpcResponse(encoded.body.subarray(5)))).toEqual(book);
  });

  it('accepts proto field names and numbers for 64-bit integers and enums, and answers the canonical form', () => {
    expect(roundTrip('library.v1.Library.Echo', { read_time: '1s', ebook_url: 'u', id: 42, genre: 1, published: '2026-12-03T16:30:00+01:00', rating: null })).toEqual({
      readTime: '1s',
      ebookUrl: 'u',
      id: '42',
      genre: 'FICTION',
      published: '2026-12-03T15:30:00Z',
    });
  });

  it('carries an Any of a well-known type as its JSON value', () => {
    const note = { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.500s' };
    expect(roundTrip('library.v1.Library.Echo', { note })).toEqual({ note });
  });

  it('refuses what does not fit, naming the field', () => {
    const refused = (args: JsonObject) => bridgeError(() => codec.encodeRequest('library.v1.Library.Echo', args)).message;
    expect(refused({ colour: 'red' })).toBe('/colour: unknown field of library.v1.Book');
    expect(refused({ author: { name: 'x' } })).toBe('/author/name: unknown field of library.v1.Author');
    expect(refused({ readTime: '1s', read_time: '2s' })).toBe('/read_time: field read_time is given twice');
    expect(refused({ pages: 2147483648 })).toBe('/pages: 2147483648 is out of the range of int32');
    expect(refused({ id: 2 ** 53 + 2 })).toBe('/id: expected an integer (int64), got 9007199254740994');
    expect(refused({ isbn: '-1' })).toBe('/isbn: -1 is out of the range of uint64');
    expect(refused({ genre: 'POETRY' })).toBe("/genre: 'POETRY' is not a value of library.v1.Genre (GENRE_UNSPECIFIED, FICTION, HISTORY)");
    expect(refused({ ebookUrl: 'u', paperGrams: 3 })).toBe('/paperGrams: paperGrams and ebookUrl are members of one oneof (format)');
    expect(refused({ available: 'yes' })).toBe('/available: expected true or false, got "yes"');
    expect(refused({ tags: 'x' })).toBe('/tags: expected an array, got "x"');
    expect(refused({ cover: 'not base64!' })).toBe('/cover: expected base64 bytes');
    expect(refused({ published: '2026-02-30T00:00:00Z' })).toBe('/published: 2026-02-30T00:00:00Z is not a valid date and time');
    expect(refused({ readTime: '5 minutes' })).toBe('/readTime: expected a duration like "1.5s", got "5 minutes"');
    expect(refused({ author: [] })).toBe('/author: expected an object for library.v1.Author, got an array');
    expect(refused({ note: { '@type': 'type.googleapis.com/library.v1.Nope' } })).toBe('/note/@type: type type.googleapis.com/library.v1.Nope is not in the descriptor set');
    let deep: JsonValue = 1;
    for (let i = 0; i < 150; i++) deep = { a: deep };
    expect(refused({ extra: deep as JsonObject })).toMatch(/: nested more than 100 levels deep$/);
    expect(bridgeError(() => codec.encodeRequest('library.v1.Library.Echo', { pages: 1.5 })).code).toBe('SCHEMA_VIOLATION');
  });

  it('frames the request as one uncompressed gRPC message to /package.Service/Method, with the route timeout as its deadline', () => {
    const request = codec.encodeRequest('library.v1.Library.GetBook', { name: 'shelves/1/books/2' }, { timeoutMs: 1500 });
    expect([request.method, request.path, request.headers]).toEqual([
      'POST',
      '/library.v1.Library/GetBook',
      { 'content-type': 'application/grpc', 'grpc-encoding': 'identity', 'grpc-accept-encoding': 'identity', 'grpc-timeout': '1500m' },
    ]);
    expect([request.body[0], request.body.readUInt32BE(1)]).toEqual([0, request.body.length - 5]);
  });
});

describe('gRPC answers', () => {
  const empty = new Uint8Array();

  it("maps gRPC statuses to HTTP by Envoy's table", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 99].map(httpStatusOfGrpc)).toEqual([
      500, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401, 500,
    ]);
  });

  it('answers a status in the google.rpc.Status shape inside the bridge error, from the trailers or a trailers-only head', () => {
    const notFound = bridgeError(() => codec.decodeResponse('library.v1.Library.GetBook', grpcResponse(empty, { 'grpc-status': '5', 'grpc-message': 'no%20book%207' })));
    expect(bridgeErrorBody(notFound)).toEqual({
      error: { code: 'LEGACY_CLIENT_FAULT', status: 404, message: 'no book 7', fault: { code: 'NOT_FOUND', message: 'no book 7', rpcStatus: { code: 5, message: 'no book 7', details: [] } } },
    });
    const head = { status: 200, headers: { 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'down' } };
    expect(bridgeError(() => codec.decodeHead('library.v1.Library.GetBook', head))).toMatchObject({ code: 'LEGACY_SERVER_FAULT', status: 503, message: 'down' });
    expect(codec.decodeHead('library.v1.Library.GetBook', { status: 200, headers: { 'content-type': 'application/grpc' } })).toBeUndefined();
  });

  it('keeps the text of an INTERNAL or UNKNOWN status out of the answer (it goes to the log)', () => {
    const internal = bridgeError(() => codec.decodeResponse('library.v1.Library.GetBook', grpcResponse(empty, { 'grpc-status': '13', 'grpc-message': 'Traceback: secret' })));
    expect(bridgeErrorBody(internal).error).toEqual({
      code: 'LEGACY_SERVER_FAULT',
      status: 500,
      message: 'the legacy system failed',
      fault: { code: 'INTERNAL', message: 'the legacy system failed', rpcStatus: { code: 13, message: 'the legacy system failed', details: [] } },
    });
    expect((internal.cause as Error).message).toBe('grpc-status 13 (INTERNAL): Traceback: secret');
  });

  it('answers 502 for what is not a gRPC answer', () => {
    const invalid = (response: { status: number; headers: Record<string, string>; body: Buffer }) => bridgeError(() => codec.decodeResponse('library.v1.Library.Echo', response));
    const ok = grpcResponse(new Uint8Array([0x12, 0x01, 0x61]));
    expect(codec.decodeResponse('library.v1.Library.Echo', ok)).toEqual({ title: 'a' });
    expect(invalid({ ...ok, status: 503 }).message).toBe('the gRPC server answered HTTP 503');
    expect(invalid({ ...ok, headers: { 'content-type': 'text/html', 'grpc-status': '0' } }).message).toBe('the gRPC server answered content-type text/html');
    expect(invalid({ ...ok, headers: { 'content-type': 'application/grpc' } }).message).toBe('the gRPC call ended without grpc-status');
    expect(invalid({ ...ok, body: Buffer.concat([ok.body, ok.body]) }).message).toBe('the gRPC response is not exactly one message');
    expect(invalid({ ...ok, body: Buffer.from([1, 0, 0, 0, 0]) }).message).toMatch(/compressed/);
    expect(invalid(grpcResponse(new Uint8Array([0x0f])))).toMatchObject({ code: 'UPSTREAM_INVALID_RESPONSE', status: 502 });
    expect(bridgeError(() => codec.decodeHead('library.v1.Library.Echo', { status: 200, headers: { 'content-type': 'application/grpc', 'grpc-status': '0' } })).status).toBe(502);
    expect(invalid({ ...ok, body: Buffer.alloc(0) }).message).toBe('the gRPC call ended OK without a response message');
  });

  it('reads a server stream: every message in order, none, or a refusal of a cut or compressed one', () => {
    const watch = (response: { status: number; headers: Record<string, string>; body: Buffer }) => codec.decodeResponse('library.v1.Library.WatchBooks', response);
    const one = grpcResponse(new Uint8Array([0x12, 0x01, 0x61]));
    const two = grpcResponse(new Uint8Array([0x08, 0x07]));
    expect(watch({ ...one, body: Buffer.concat([one.body, two.body]) })).toEqual([{ title: 'a' }, { id: '7' }]);
    // An empty message is a message: `{}`, not nothing.
    expect(watch({ ...one, body: Buffer.concat([one.body, Buffer.alloc(5), two.body]) })).toEqual([{ title: 'a' }, {}, { id: '7' }]);
    expect(watch({ ...one, body: Buffer.alloc(0) })).toEqual([]);
    const head = { status: 200, headers: { 'content-type': 'application/grpc', 'grpc-status': '0' } };
    expect(codec.decodeHead('library.v1.Library.WatchBooks', head)).toBeUndefined();
    expect(bridgeError(() => watch({ ...one, body: Buffer.concat([one.body, two.body.subarray(0, 3)]) })).message).toBe('the gRPC response ends inside a message header');
    expect(bridgeError(() => watch({ ...one, body: Buffer.concat([one.body, two.body.subarray(0, 6)]) })).message).toBe('the gRPC response ends inside a message');
    expect(bridgeError(() => watch({ ...one, body: Buffer.concat([one.body, Buffer.from([1, 0, 0, 0, 0])]) })).message).toMatch(/compressed/);
    expect(bridgeError(() => watch(grpcResponse(new Uint8Array([0x12, 0x01, 0x61]), { 'grpc-status': '5', 'grpc-message': 'gone' })))).toMatchObject({ status: 404, message: 'gone' });
  });
});

describe('path templates', () => {
  it('compiles the google.api.http grammar and decodes values (multi-segment ones keep %2F)', () => {
    const files = compilePathTemplate('/v1/{name=files/**}:download');
    expect([files.openApiPath, files.variables, files.match('/v1/files/a/b%2Fc%20d:download')]).toEqual(['/v1/{name}:download', [{ name: 'name', pattern: 'files/**' }], ['files/a/b%2Fc d']]);
    expect(files.match('/v1/files/a')).toBeUndefined();
    expect(compilePathTemplate('/v1/{a}/x/{b.c}').match('/v1/1/x/2')).toEqual(['1', '2']);
    expect(compilePathTemplate('/v1/{a}').match('/v1/%E0%A4%A')).toBeUndefined();
    expect(() => compilePathTemplate('v1/x')).toThrow('path template v1/x must start with /');
    expect(() => compilePathTemplate('/v1/{a=**}/b')).toThrow('** must be the last segment');
    expect(() => compilePathTemplate('/v1/x{a}')).toThrow('a variable must be a whole segment');
    expect(() => compilePathTemplate('/v1/{a}/{a}')).toThrow('variable a appears twice');
  });

  it('refuses a descriptor set that names unknown services, or that is not one', async () => {
    await expect(grpcCodecFactory.load({ descriptorSet: 'library.pb', services: ['library.v1.Nope'] }, { baseDirectory: FIXTURES, timeoutMs: 5000 })).rejects.toThrow(
      'service library.v1.Nope is not in the descriptor set (it has library.v1.Library)',
    );
    await expect(grpcCodecFactory.load({ descriptorSet: 'crm.wsdl' }, { baseDirectory: FIXTURES, timeoutMs: 5000 })).rejects.toThrow(/descriptor set .*crm\.wsdl/);
    await expect(grpcCodecFactory.load({ descriptorSet: 'missing.pb' }, { baseDirectory: FIXTURES, timeoutMs: 5000 })).rejects.toThrow(/cannot be read/);
  });
});

describe('the OpenAPI 3.1 document of a gRPC facade', () => {
  it('is valid OpenAPI 3.1 by a real validator, with paths from the http rules and query parameters', async () => {
    const document = openApiDocument('library', codec, routes);
    const result = await new Validator().validate(document as Parameters<Validator['validate']>[0]);
    expect(result.errors).toBeUndefined();
    expect(Object.keys(document.paths as object)).toEqual([
      '/v1/{name}',
      '/v1/shelves/{shelf_id}/books',
      '/v1/books',
      '/v1/books/{book.id}',
      '/v1/shelves/{id}',
      '/v1/shelves/{id}/title',
      '/v1/books/{id}',
      '/v1/fail',
      '/v1/shelves/{shelf_id}/books:watch',
      '/v1/shelves/{shelf_id}/titles:watch',
      '/v1/books:import',
      '/v1/books:chat',
      ...['GetBook', 'ListBooks', 'CreateBook', 'UpdateBook', 'GetShelf', 'DeleteBook', 'Fail', 'Echo', 'WatchBooks', 'ImportBooks', 'ChatBooks'].map((name) => `/grpc/library.v1.Library/${name}`),
    ]);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const paths = document.paths as Record<string, Record<string, any>>;
    expect(paths['/v1/shelves/{shelf_id}/books']!.get.parameters.map((parameter: { name: string; in: string }) => `${parameter.in}:${parameter.name}`)).toEqual([
      'path:shelf_id',
      'query:pageSize',
      'query:tags',
      'query:genre',
      'query:author.displayName',
      'query:author.born',
      'query:available',
    ]);
    expect(paths['/v1/shelves/{shelf_id}/books']!.post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/library.v1.Book' });
    expect(paths['/v1/shelves/{id}/title']!.get.responses['200'].content['application/json'].schema).toEqual({ type: 'string' });
    // A server stream answers the array of its messages (of the response_body field of each).
    const answer = (path: string) => paths[path]!.get.responses['200'].content['application/json'].schema;
    expect(answer('/v1/shelves/{shelf_id}/books:watch')).toEqual({ type: 'array', items: { $ref: '#/components/schemas/library.v1.Book' } });
    expect(answer('/v1/shelves/{shelf_id}/titles:watch')).toEqual({ type: 'array', items: { type: 'string' } });
    // A client stream takes the array of its messages.
    const chat = paths['/v1/books:chat']!.post.requestBody.content['application/json'].schema;
    expect([chat.type, Object.keys(chat.items.properties)]).toEqual(['array', expect.arrayContaining(['title', 'readTime', 'reviewers'])]);
  });

  it('describes a sample call: the request fits the body schema, the answer the 200 schema', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const document = openApiDocument('library', codec, routes) as { paths: Record<string, Record<string, any>>; components: { schemas: object } };
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'doc', components: document.components });
    const compile = (schema: object) => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"doc#/components')));
    const echo = document.paths['/grpc/library.v1.Library/Echo']!.post;
    const requestSchema = compile(echo.requestBody.content['application/json'].schema);
    const sample = { id: '7', title: 'T', genre: 'FICTION', published: '2026-12-03T15:30:00Z', tags: ['a'], counts: { a: '1' }, author: { displayName: 'A' } };
    expect(requestSchema(sample), JSON.stringify(requestSchema.errors)).toBe(true);
    expect(requestSchema({ ...sample, id: 7.5 })).toBe(false);
    expect(requestSchema({ ...sample, colour: 'red' })).toBe(false);
    const answer = codec.decodeResponse('library.v1.Library.Echo', grpcResponse(codec.encodeRequest('library.v1.Library.Echo', sample).body.subarray(5)));
    const responseSchema = compile(echo.responses['200'].content['application/json'].schema);
    expect(responseSchema(answer), JSON.stringify(responseSchema.errors)).toBe(true);
  });
});
