// The bridge filter with the grpc codec in a real sidecar chain (bridge -> authz -> router, the
// app port speaking gRPC) in front of a grpc-js server of library.proto: JSON in, a real gRPC
// call out over HTTP/2 (what the server decoded), its answer and trailers back as JSON; gRPC
// statuses (trailers and trailers-only) in the bridge's error shape; policies on the message
// the server gets; the route timeout as deadline; connect failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLibraryServer, LIBRARY_DESCRIPTOR_SET, type LibraryServer } from '../../helpers/grpc-library.js';
import { startSidecar, type InProcessSidecar } from '../../helpers/sidecar.js';
import { closedPort } from '../../helpers/upstream.js';

let server: LibraryServer;
let sidecar: InProcessSidecar;

const policy = `package bridge
import rego.v1
default allow := false
allow if not input.weft.bridge.operation in {"library.v1.Library.CreateBook", "library.v1.Library.ImportBooks"}
allow if {
  input.weft.bridge.operation == "library.v1.Library.ImportBooks"
  every book in input.weft.bridge.args { object.get(book, "pages", 0) < 1000 }
}
allow if {
  input.weft.bridge.operation == "library.v1.Library.CreateBook"
  input.weft.bridge.args.book.pages < 1000
}`;

function bridgeConfig(appPort: number, timeoutMs = 15000) {
  return {
    inbound: {
      port: 0,
      appPort,
      appProtocol: 'grpc',
      timeoutMs,
      filters: [
        { name: 'bridge', config: { bridges: [{ name: 'library', protocol: 'grpc', grpc: { descriptorSet: LIBRARY_DESCRIPTOR_SET } }] } },
        {
          name: 'authz',
          config: {
            assets: [{ name: 'library', match: { paths: [{ prefix: '/' }] } }],
            policies: [{ name: 'library-bridge', targets: { assets: ['library'] }, entrypoint: 'data.bridge.allow', modules: [{ name: 'bridge.rego', rego: policy }] }],
          },
        },
        { name: 'router' },
      ],
    },
  };
}

beforeAll(async () => {
  server = await startLibraryServer();
  sidecar = await startSidecar(bridgeConfig(server.port));
});
afterAll(async () => {
  await sidecar?.stop();
  await server?.close();
});

async function call(method: string, path: string, body?: unknown, port = sidecar.inboundPort, headers: Record<string, string> = {}) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const contentType = response.headers.get('content-type');
  const text = await response.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, contentType, trailer: response.headers.get('grpc-status'), json: (contentType === 'application/json' ? JSON.parse(text) : text) as any };
}

describe('the bridge filter transcoding JSON to a gRPC service', () => {
  it('GET with a path template: the server gets the bound field, the caller JSON', async () => {
    server.received.length = 0;
    // A caller's gRPC framing headers do not reach the server: the bridge frames the message.
    const response = await call('GET', '/v1/shelves/1/books/2', undefined, sidecar.inboundPort, { 'grpc-encoding': 'snappy' });
    expect(response).toMatchObject({ status: 200, contentType: 'application/json', trailer: null, json: { id: '2', title: 'Book shelves/1/books/2' } });
    expect(server.received).toEqual([{ method: 'GetBook', request: { name: 'shelves/1/books/2' } }]);
  });

  it('POST with a body field and a path field, int64 exact as strings both ways', async () => {
    server.received.length = 0;
    const response = await call('POST', '/v1/shelves/9007199254740993/books', { title: 'Dune', pages: 412, isbn: '18446744073709551615' });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ id: '9007199254740993001', title: 'Dune', pages: 412, isbn: '18446744073709551615' });
    expect(server.received[0]!.request).toEqual({ shelf_id: '9007199254740993', book: { title: 'Dune', pages: 412, isbn: '18446744073709551615' } });
  });

  it('body "*" with a nested path field, query parameters, response_body', async () => {
    expect((await call('PATCH', '/v1/books/5', { book: { title: 'T' }, reason: 'typo' })).json).toEqual({ id: '5', title: 'T (typo)' });
    server.received.length = 0;
    const listed = await call('GET', '/v1/books?pageSize=2&tags=a&tags=b&author.displayName=Ada&genre=HISTORY');
    expect(JSON.parse(listed.json.nextPageToken)).toEqual({ page_size: 2, tags: ['a', 'b'], author: { display_name: 'Ada' }, genre: 'HISTORY' });
    expect(await call('GET', '/v1/shelves/4/title')).toMatchObject({ status: 200, json: 'Shelf 4' });
    expect(await call('DELETE', '/v1/books/4')).toMatchObject({ status: 200, json: {} });
  });

  it('maps gRPC statuses to HTTP statuses and the google.rpc.Status shape, details included', async () => {
    const notFound = await call('GET', '/v1/shelves/1/books/404');
    expect(notFound).toMatchObject({ status: 404, contentType: 'application/json' });
    expect(notFound.json.error).toEqual({
      code: 'LEGACY_CLIENT_FAULT',
      status: 404,
      message: 'no book shelves/1/books/404',
      fault: { code: 'NOT_FOUND', message: 'no book shelves/1/books/404', rpcStatus: { code: 5, message: 'no book shelves/1/books/404', details: [] } },
    });
    const statuses: [number, number][] = [[3, 400], [7, 403], [16, 401], [8, 429], [12, 501], [14, 503], [4, 504], [9, 400], [13, 500], [2, 500]];
    for (const [code, status] of statuses) {
      const failed = await call('POST', '/v1/fail', { code, message: `failed ${code}` });
      expect([code, failed.status, failed.json.error.fault.rpcStatus.code]).toEqual([code, status, code]);
    }
    const invalid = await call('POST', '/v1/fail', { code: 3, message: 'bad page' });
    expect(invalid.json.error.fault.rpcStatus).toEqual({ code: 3, message: 'bad page', details: [{ '@type': 'type.googleapis.com/library.v1.Author', displayName: 'detail' }] });
    const internal = await call('POST', '/v1/fail', { code: 13, message: 'Traceback: secret' });
    expect(JSON.stringify(internal.json)).not.toContain('secret');
    const logged = sidecar.logLines().filter((line) => line.bridge === 'library' && line.operation === 'library.v1.Library.Fail');
    expect(logged.some((line) => String(line.cause).includes('Traceback: secret'))).toBe(true);
  });

  it('is strict: unknown route 404, unknown field or query parameter 400, nothing sent to the server', async () => {
    server.received.length = 0;
    expect((await call('GET', '/v1/shelves/1/novels')).json.error.code).toBe('UNKNOWN_ROUTE');
    expect((await call('GET', '/v1/books?colour=red')).json.error).toMatchObject({ status: 400, message: 'query parameter colour: library.v1.Library.ListBooks has no such field' });
    expect((await call('POST', '/v1/shelves/1/books', { colour: 'red' })).json.error).toMatchObject({ status: 400, message: '/book/colour: unknown field of library.v1.Book' });
    expect((await call('POST', '/v1/shelves/1/books', { pages: 'many' })).status).toBe(400);
    expect(server.received).toEqual([]);
  });

  it('lets policies decide on the message the server gets, in its canonical JSON', async () => {
    server.received.length = 0;
    // The proto name (snake_case) and the JSON name reach the same field, and the policy sees one.
    expect((await call('POST', '/v1/shelves/1/books', { pages: 5000 })).status).toBe(403);
    expect((await call('POST', '/v1/shelves/1/books', { pages: '5000' })).status).toBe(403);
    expect((await call('POST', '/grpc/library.v1.Library/CreateBook', { shelf_id: 1, book: { pages: 5000 } })).status).toBe(403);
    expect(server.received).toEqual([]);
    expect((await call('POST', '/grpc/library.v1.Library/CreateBook', { shelf_id: 1, book: { pages: 5 } })).json).toEqual({ id: '1001', pages: 5 });
  });

  it('answers a server stream as the JSON array of its messages (response_body per message)', async () => {
    server.received.length = 0;
    expect(await call('GET', '/v1/shelves/9007199254740993/books:watch?pageSize=3')).toMatchObject({
      status: 200,
      contentType: 'application/json',
      trailer: null,
      json: [1, 2, 3].map((i) => ({ id: `900719925474099300${i}`, title: `Book ${i}` })),
    });
    expect(server.received).toEqual([{ method: 'WatchBooks', request: { shelf_id: '9007199254740993', page_size: 3 } }]);
    expect(await call('GET', '/v1/shelves/2/titles:watch?pageSize=2')).toMatchObject({ status: 200, json: ['Book 1', 'Book 2'] });
    // No message at all (grpc-js answers trailers-only): an empty array, not an error.
    expect(await call('GET', '/v1/shelves/2/books:watch')).toMatchObject({ status: 200, json: [] });
    // A status after some messages is the call's answer: the messages are not half-delivered.
    const failed = await call('GET', '/v1/shelves/2/books:watch?pageSize=2&tags=fail');
    expect(failed).toMatchObject({ status: 404, json: { error: { code: 'LEGACY_CLIENT_FAULT', message: 'shelf gone' } } });
  });

  it('sends a client stream from the JSON body array, a bidirectional one answered as an array; policies see every message', async () => {
    server.received.length = 0;
    expect(await call('POST', '/v1/books:import', [{ title: 'A' }, { title: 'B', pages: 3, isbn: '18446744073709551615' }])).toMatchObject({
      status: 200,
      json: { books: [{ id: '1', title: 'A' }, { id: '2', title: 'B', pages: 3, isbn: '18446744073709551615' }], nextPageToken: '2' },
    });
    expect(server.received).toEqual([{ method: 'ImportBooks', request: { messages: [{ title: 'A' }, { title: 'B', pages: 3, isbn: '18446744073709551615' }] } }]);
    expect(await call('POST', '/v1/books:import', [])).toMatchObject({ status: 200, json: { nextPageToken: '0' } });
    expect(await call('POST', '/v1/books:chat', [{ title: 'hi' }, { title: 'again' }])).toMatchObject({ status: 200, json: [{ title: 'Re: hi' }, { title: 'Re: again' }] });
    server.received.length = 0;
    // One message of many over the policy's limit refuses the whole call; a body that is no array is a 400.
    expect((await call('POST', '/v1/books:import', [{ pages: 5 }, { pages: 5000 }])).status).toBe(403);
    expect((await call('POST', '/v1/books:import', { title: 'A' })).json.error).toMatchObject({ code: 'SCHEMA_VIOLATION', status: 400 });
    expect(server.received).toEqual([]);
  });

  it('publishes the OpenAPI document of the facade', async () => {
    const document = await call('GET', '/.well-known/openapi.json');
    expect(document.status).toBe(200);
    expect(Object.keys(document.json.paths)).toContain('/v1/{name}');
  });
});

describe('the gRPC upstream failing', () => {
  it('answers 504 UPSTREAM_TIMEOUT past the route timeout, sent to the server as its deadline', async () => {
    const slow = await startSidecar(bridgeConfig(server.port, 300));
    try {
      server.deadlines.length = 0;
      const response = await call('POST', '/grpc/library.v1.Library/Echo', { title: 'slow' }, slow.inboundPort);
      // Whichever ends the call first, the sidecar's timer or the server's deadline: 504.
      expect(response.status).toBe(504);
      expect(response.json.error.code).toMatch(/^(UPSTREAM_TIMEOUT|LEGACY_SERVER_FAULT)$/);
      expect(server.deadlines).toEqual([true]);
    } finally {
      await slow.stop();
    }
  });

  it('answers 503 UPSTREAM_UNAVAILABLE when the server is not there', async () => {
    const lonely = await startSidecar(bridgeConfig(await closedPort()));
    try {
      const response = await call('GET', '/v1/shelves/1/books/2', undefined, lonely.inboundPort);
      expect(response).toMatchObject({ status: 503, json: { error: { code: 'UPSTREAM_UNAVAILABLE' } } });
    } finally {
      await lonely.stop();
    }
  });
});
