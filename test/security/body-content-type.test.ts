// A body policy cannot be skipped by choosing a content type the sidecar does not parse: a
// policy that reads `parsed_body` of a body the sidecar cannot read as the app will (another
// type, no or several types, another charset, invalid UTF-8, content-encoded, truncated) is
// denied AUTHZ_BODY_UNREADABLE, and a gRPC request to an asset that reads bodies is refused
// unless the asset says `decideGrpcWithoutBody`. The policy here is deny-style, the kind a
// `null` parsed_body used to let through.
import http2 from 'node:http2';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { echoServer, type TestServer } from '../helpers/upstream.js';

const noAdmin = [{ name: 'b.rego', rego: 'package b\nimport rego.v1\ndefault allow := true\nallow := false if input.parsed_body.admin == true\n' }];
const admin = JSON.stringify({ admin: true });

let app: TestServer;
let s: InProcessSidecar;
let appRequests = 0;
beforeAll(async () => {
  app = await echoServer();
  app.server.on('request', () => appRequests++);
  s = await startSidecar({
    inbound: {
      port: 0,
      appPort: app.port,
      filters: [
        {
          name: 'authz',
          config: {
            decisionLogSampleRate: 1,
            assets: [
              { name: 'users', match: { paths: [{ prefix: '/users' }] }, requestBody: { maxBytes: 128, allowPartial: true } },
              { name: 'rpc', match: { grpc: { service: 'shop.Users' } }, requestBody: { maxBytes: 64 } },
              { name: 'rpc-open', match: { grpc: { service: 'shop.Open' } }, requestBody: { maxBytes: 64, decideGrpcWithoutBody: true } },
            ],
            policies: [{ name: 'no-admin', targets: { assets: ['users', 'rpc', 'rpc-open'] }, entrypoint: 'data.b.allow', modules: noAdmin }],
          },
        },
        { name: 'router' },
      ],
    },
  });
});
afterAll(async () => {
  await s.stop();
  await app.close();
});

function post(headers: string[], body: string | Buffer, path = '/users') {
  return request(s.inboundPort, { method: 'POST', path, headers: ['host', 'users', ...headers], body });
}

async function expectUnreadable(reply: { status: number; headers: Record<string, unknown> }, before: number, reason: RegExp): Promise<void> {
  expect(reply.status).toBe(403);
  expect(reply.headers['x-weft-error']).toBe('AUTHZ_BODY_UNREADABLE');
  expect(appRequests).toBe(before);
  await new Promise<void>((resolve) => setImmediate(resolve));
  const line = s.logLines().findLast((l) => l.type === 'authz_decision');
  expect(line?.reason).toMatch(reason);
}

const multipart = ['--b', 'Content-Disposition: form-data; name="admin"', '', 'true', '--b--', ''].join('\r\n');

describe('body policies cannot be skipped by content type', () => {
  it('decides on JSON and +json bodies as before', async () => {
    expect((await post(['content-type', 'application/json'], JSON.stringify({ admin: false }))).status).toBe(200);
    expect((await post(['content-type', 'application/json'], admin)).headers['x-weft-error']).toBe('AUTHZ_DENIED');
    expect((await post(['content-type', 'Application/Merge-Patch+JSON; charset=UTF-8'], admin)).headers['x-weft-error']).toBe('AUTHZ_DENIED');
  });

  const vectors: [string, string[], string | Buffer, RegExp][] = [
    ['multipart/form-data', ['content-type', 'multipart/form-data; boundary=b'], multipart, /type multipart\/form-data cannot be parsed/],
    ['text/plain holding JSON', ['content-type', 'text/plain'], admin, /type text\/plain cannot be parsed/],
    ['a type that only mentions JSON', ['content-type', 'text/plain; x=application/json'], admin, /type text\/plain cannot be parsed/],
    ['no content type', [], admin, /no content type/],
    ['two content types', ['content-type', 'text/plain', 'content-type', 'application/json'], admin, /several content types/],
    ['JSON in UTF-16', ['content-type', 'application/json; charset=utf-16le'], Buffer.from(admin, 'utf16le'), /charset utf-16le is not UTF-8/],
    ['JSON with invalid UTF-8', ['content-type', 'application/json'], Buffer.concat([Buffer.from('{"admin":true,"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), /not valid UTF-8/],
    ['gzip-encoded JSON', ['content-type', 'application/json', 'content-encoding', 'gzip'], gzipSync(admin), /content-encoded \(gzip\)/],
    ['JSON past maxBytes (allowPartial)', ['content-type', 'application/json'], JSON.stringify({ pad: 'x'.repeat(200), admin: true }), /truncated/],
  ];
  for (const [name, headers, body, reason] of vectors) {
    it(`denies ${name} when the policy reads parsed_body (HTTP/1.1)`, async () => {
      const before = appRequests;
      await expectUnreadable(await post(headers, body), before, reason);
    });
  }

  it('denies the same over HTTP/2', async () => {
    const before = appRequests;
    const session = http2.connect(`http://127.0.0.1:${s.inboundPort}`);
    const status = await new Promise<{ status: number; error: unknown }>((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/users', 'content-type': 'multipart/form-data; boundary=b' });
      let head = { status: 0, error: undefined as unknown };
      stream.on('response', (headers) => (head = { status: Number(headers[':status']), error: headers['x-weft-error'] }));
      stream.on('error', reject);
      stream.on('close', () => resolve(head));
      stream.resume();
      stream.end(multipart);
    });
    await new Promise<void>((resolve) => session.close(resolve));
    expect(status).toEqual({ status: 403, error: 'AUTHZ_BODY_UNREADABLE' });
    expect(appRequests).toBe(before);
  });

  it('refuses gRPC to an asset that reads bodies, unless it decides gRPC without the body', async () => {
    const grpc = ['content-type', 'application/grpc', 'te', 'trailers'];
    const message = Buffer.from([0, 0, 0, 0, 1, 1]);
    const before = appRequests;
    const refused = await post(grpc, message, '/shop.Users/Update');
    expect(refused.status).toBe(200);
    expect(refused.headers['grpc-status']).toBe('7');
    expect(refused.headers['x-weft-error']).toBe('AUTHZ_BODY_UNREADABLE');
    expect(appRequests).toBe(before);
    const line = s.logLines().findLast((l) => l.type === 'authz_decision');
    expect(line).toMatchObject({ asset: 'rpc', policy: 'default-deny', decision: 'deny' });
    await post(grpc, message, '/shop.Open/Update');
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(s.logLines().findLast((l) => l.type === 'authz_decision')).toMatchObject({ asset: 'rpc-open', policy: 'no-admin', decision: 'allow' });
  });
});
