// JSON <-> gRPC transcoding against a gRPC server weft did not write: library.proto compiled at
// test time by Debian's protoc (descriptor set for the bridge; Python code with
// grpc_python_plugin, google/api from golang-github-gogo-googleapis-dev) and served by
// python3-grpcio (test/interop/grpc_library_service.py). Plain JSON over HTTP/1.1 in, gRPC over
// h2c from the sidecar to Python, JSON back.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';

const python = '/usr/bin/python3';
const service = fileURLToPath(new URL('./grpc_library_service.py', import.meta.url));
const fixtures = fileURLToPath(new URL('../proxy/bridge/fixtures/', import.meta.url));
const googleApis = '/usr/share/gocode/src/github.com/gogo/googleapis';

let workDir: string;
let server: ChildProcessWithoutNullStreams;
let sidecar: InProcessSidecar;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'weft-grpc-transcoding-'));
  const includes = [`-I${fixtures}`, `-I${googleApis}`, '-I/usr/include'];
  const protoc = promisify(execFile);
  await protoc('protoc', [...includes, '--include_imports', `--descriptor_set_out=${join(workDir, 'library.pb')}`, 'library.proto']);
  await protoc('protoc', [
    ...includes,
    `--python_out=${workDir}`,
    `--grpc_out=${workDir}`,
    '--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin',
    'library.proto',
    'google/api/http.proto',
    'google/api/annotations.proto',
  ]);
  server = spawn(python, [service, workDir]);
  let stderr = '';
  server.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim())));
    server.once('exit', (code) => reject(new Error(`python server exited ${code}: ${stderr}`)));
  });
  sidecar = await startSidecar({
    inbound: {
      port: 0,
      appPort: port,
      appProtocol: 'grpc',
      timeoutMs: 1000,
      filters: [{ name: 'bridge', config: { bridges: [{ name: 'library', protocol: 'grpc', grpc: { descriptorSet: join(workDir, 'library.pb') } }] } }, { name: 'router' }],
    },
  });
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  server?.stdin.end();
  server?.kill();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${sidecar.inboundPort}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, contentType: response.headers.get('content-type'), json: (await response.json()) as any };
}

describe('JSON -> weft bridge -> python3-grpcio', () => {
  it('GET with a path template', async () => {
    expect(await call('GET', '/v1/shelves/1/books/2')).toEqual({ status: 200, contentType: 'application/json', json: { id: '2', title: 'Book shelves/1/books/2' } });
  });

  it('POST with a body field; int64 and uint64 exact as strings both ways', async () => {
    const response = await call('POST', '/v1/shelves/9007199254740993/books', { title: 'Dune', isbn: '18446744073709551615', readTime: '1.5s', genre: 'FICTION' });
    expect(response).toEqual({
      status: 200,
      contentType: 'application/json',
      json: { id: '9007199254740993001', title: 'Dune', isbn: '18446744073709551615', readTime: '1.500s', genre: 'FICTION' },
    });
  });

  it('body "*" with a nested path field; the default route; every kind of value through Python and back', async () => {
    expect((await call('PATCH', '/v1/books/5', { book: { title: 'T' }, reason: 'typo' })).json).toEqual({ id: '5', title: 'T (typo)' });
    const book = {
      id: '-9223372036854775808',
      cover: 'AAEC/w==',
      published: '2026-12-03T15:30:00.123456789Z',
      rating: 0,
      extra: { a: [1.5, 'two', null, { b: true }] },
      counts: { read: '12' },
      price: 12.5,
      author: { displayName: 'Ünïcode <&>', born: -1 },
      paperGrams: 300,
      weight: 'NaN',
      checksum: '18446744073709551615',
      note: { '@type': 'type.googleapis.com/library.v1.Author', displayName: 'in an Any' },
    };
    expect(await call('POST', '/grpc/library.v1.Library/Echo', book)).toMatchObject({ status: 200, json: book });
  });

  it('query parameters to non-path fields: nested, repeated, typed', async () => {
    const response = await call('GET', '/v1/shelves/7/books?pageSize=2&tags=a&tags=b&author.displayName=Ada&genre=HISTORY&available=true');
    expect(JSON.parse(response.json.nextPageToken)).toEqual({ shelf_id: '7', page_size: 2, tags: ['a', 'b'], genre: 'HISTORY', author: { display_name: 'Ada' }, available: true });
    const byProtoNames = await call('GET', '/v1/shelves/7/books?page_size=3&author.display_name=Le%20Guin');
    expect(JSON.parse(byProtoNames.json.nextPageToken)).toEqual({ shelf_id: '7', page_size: 3, author: { display_name: 'Le Guin' } });
    expect((await call('GET', '/v1/shelves/4/title')).json).toBe('Shelf 4');
  });

  it("maps grpcio's statuses by Envoy's table, in the google.rpc.Status shape with its details", async () => {
    const notFound = await call('GET', '/v1/shelves/1/books/404');
    expect(notFound.status).toBe(404);
    expect(notFound.json.error.fault).toEqual({ code: 'NOT_FOUND', message: 'no book shelves/1/books/404', rpcStatus: { code: 5, message: 'no book shelves/1/books/404', details: [] } });
    const statuses: [number, number][] = [[3, 400], [7, 403], [16, 401], [8, 429], [12, 501], [14, 503], [9, 400], [10, 409], [13, 500], [2, 500]];
    const seen: [number, number][] = [];
    for (const [code] of statuses) seen.push([code, (await call('POST', '/v1/fail', { code, message: `failed ${code}` })).status]);
    expect(seen).toEqual(statuses);
    const invalid = await call('POST', '/v1/fail', { code: 3, message: 'bad page' });
    expect(invalid.json.error.fault.rpcStatus).toEqual({ code: 3, message: 'bad page', details: [{ '@type': 'type.googleapis.com/library.v1.Author', displayName: 'detail' }] });
  });

  it("answers grpcio's server stream as the JSON array of its messages, or its status after them", async () => {
    expect(await call('GET', '/v1/shelves/9007199254740993/books:watch?pageSize=2')).toMatchObject({
      status: 200,
      json: [1, 2].map((i) => ({ id: `900719925474099300${i}`, title: `Book ${i}` })),
    });
    expect(await call('GET', '/v1/shelves/3/titles:watch?pageSize=3')).toMatchObject({ status: 200, json: ['Book 1', 'Book 2', 'Book 3'] });
    expect(await call('GET', '/v1/shelves/3/books:watch')).toMatchObject({ status: 200, json: [] });
    expect(await call('GET', '/v1/shelves/3/books:watch?pageSize=2&tags=fail')).toMatchObject({ status: 404, json: { error: { code: 'LEGACY_CLIENT_FAULT', message: 'shelf gone' } } });
  });

  it('sends a client stream to grpcio as the JSON body array, and reads a bidirectional one back as an array', async () => {
    expect(await call('POST', '/v1/books:import', [{ title: 'A', isbn: '18446744073709551615' }, { title: 'B' }])).toMatchObject({
      status: 200,
      json: { books: [{ id: '1', title: 'A', isbn: '18446744073709551615' }, { id: '2', title: 'B' }], nextPageToken: '2' },
    });
    expect(await call('POST', '/v1/books:import', [])).toMatchObject({ status: 200, json: { nextPageToken: '0' } });
    expect(await call('POST', '/v1/books:chat', [{ title: 'hi' }, { title: 'again' }])).toMatchObject({ status: 200, json: [{ title: 'Re: hi' }, { title: 'Re: again' }] });
  });

  it('answers 504 when the Python server runs past the route timeout (its deadline)', async () => {
    expect((await call('POST', '/grpc/library.v1.Library/Echo', { title: 'slow' })).status).toBe(504);
  });

  it('is strict: unknown route 404, unknown JSON field or query parameter 400', async () => {
    expect((await call('GET', '/v1/shelves/1/novels')).status).toBe(404);
    expect((await call('GET', '/v1/books?colour=red')).json.error).toMatchObject({ code: 'SCHEMA_VIOLATION', status: 400 });
    expect((await call('POST', '/v1/shelves/1/books', { colour: 'red' })).json.error).toMatchObject({ code: 'SCHEMA_VIOLATION', message: '/book/colour: unknown field of library.v1.Book' });
    expect((await call('POST', '/v1/shelves/1/books', { pages: 2 ** 31 })).status).toBe(400);
  });
});
