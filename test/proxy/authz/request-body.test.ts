// Request bodies in the authorization input (an Asset's `requestBody`): `http.body`,
// `parsed_body` (JSON, forms) and `truncated_body` as the OPA-Envoy plugin gives them, the cap
// (413, or a truncated body with allowPartial), and the body forwarded upstream byte for byte,
// whether it came with a content-length or chunked. Assets without `requestBody` are not buffered.
import { createHash } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange, request } from '../../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../../helpers/sidecar.js';
import { listen, type TestServer } from '../../helpers/upstream.js';

interface Received {
  sha256: string;
  length: number;
  contentLength: string | null;
  chunked: boolean;
}

/** Answers with a digest of the body it received and how it was framed. */
function digestServer(): Promise<TestServer> {
  const server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      const received: Received = {
        sha256: hash.digest('hex'),
        length,
        contentLength: req.headers['content-length'] ?? null,
        chunked: req.headers['transfer-encoding'] === 'chunked',
      };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(received));
    });
  });
  return listen(server);
}

const rego = (pkg: string, body: string) => [{ name: `${pkg}.rego`, rego: `package ${pkg}\nimport rego.v1\n${body}\n` }];
const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

// Denies with what it saw, so a test reads the input from the reply. `parsed_body` of a
// truncated body is not read: reading it denies (test/security/body-content-type.test.ts).
const echo = `decision := {"allowed": false, "http_status": 418, "body": json.marshal({
  "body": object.get(input.attributes.request.http, "body", "<absent>"),
  "parsed_body": parsed,
  "truncated_body": object.get(input, "truncated_body", "<absent>"),
})}
parsed := "(unread)" if input.truncated_body
parsed := object.get(input, "parsed_body", "<absent>") if not input.truncated_body`;

let app: TestServer;
let s: InProcessSidecar;
let upstreamRequests = 0;
beforeAll(async () => {
  app = await digestServer();
  app.server.on('request', () => upstreamRequests++);
  s = await startSidecar({
    limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 },
    inbound: {
      port: 0,
      appPort: app.port,
      filters: [
        {
          name: 'authz',
          config: {
            assets: [
              { name: 'echo', match: { paths: [{ prefix: '/echo' }] }, requestBody: { maxBytes: 16, allowPartial: true } },
              { name: 'pay', match: { paths: [{ prefix: '/pay' }] }, requestBody: { maxBytes: 256 } },
              { name: 'text', match: { paths: [{ prefix: '/text' }] }, requestBody: { maxBytes: 256 } },
              { name: 'plain', match: { paths: [{ prefix: '/plain' }] } },
              { name: 'upload', match: { paths: [{ prefix: '/upload' }] }, requestBody: { maxBytes: 64, allowPartial: true } },
              { name: 'cart', match: { grpc: { service: 'shop.Cart' } }, requestBody: { maxBytes: 16, allowPartial: true, decideGrpcWithoutBody: true } },
              { name: 'llm', match: { paths: [{ prefix: '/v1/' }] }, requestBody: { maxBytes: 4096 } },
            ],
            policies: [
              { name: 'echo', targets: { assets: ['echo'] }, entrypoint: 'data.echo.decision', modules: rego('echo', echo) },
              {
                name: 'small-payments',
                targets: { assets: ['pay'] },
                entrypoint: 'data.pay.allow',
                modules: rego('pay', 'default allow := false\nallow if input.parsed_body.amount < 100'),
              },
              {
                name: 'text-only',
                targets: { assets: ['text'] },
                entrypoint: 'data.text.allow',
                modules: rego('text', 'default allow := false\nallow if startswith(input.attributes.request.http.body, "{")'),
              },
              {
                name: 'upload-start',
                targets: { assets: ['upload'] },
                entrypoint: 'data.upload.allow',
                modules: rego('upload', 'default allow := false\nallow if {\n  input.truncated_body\n  startswith(input.attributes.request.http.body, "BEGIN")\n}'),
              },
              {
                name: 'cart-says-body',
                targets: { assets: ['cart'] },
                entrypoint: 'data.cart.decision',
                modules: rego('cart', 'decision := {"allowed": false, "reason": sprintf("body=%v", [object.get(input.attributes.request.http, "body", "absent")])}'),
              },
              {
                name: 'small-model-small-answers',
                targets: { assets: ['llm'] },
                entrypoint: 'data.llm.decision',
                modules: rego('llm', `default allowed := false
allowed if {
  input.weft.inference.model == "small"
  input.weft.inference.estimated_tokens <= 300
}
decision := {"allowed": allowed, "body": json.marshal(input.weft.inference)}`),
              },
              {
                name: 'plain-echo',
                targets: { assets: ['plain'] },
                entrypoint: 'data.plain.decision',
                modules: rego('plain', 'decision := {"allowed": input.attributes.request.http.method == "POST", "body": json.marshal(object.get(input, "truncated_body", "<absent>"))}'),
              },
            ],
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

describe('input.weft.inference at a model server (no inference filter before authz)', () => {
  const chat = (body: object, path = '/v1/chat/completions') => post(path, JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }], ...body }));

  it('reads the OpenAI body the asset buffers: model and estimated tokens, the tenant null without a verified caller', async () => {
    const allowed = await chat({ model: 'small', max_tokens: 100 });
    expect(allowed.status).toBe(200);
    const denied = await chat({ model: 'small', max_tokens: 100, n: 3 });
    expect(denied.status).toBe(403);
    // '<|user|>\nhello there\n' is 6 tokens at 4 characters each; 3 answers of 100.
    expect(JSON.parse(denied.body)).toEqual({ model: 'small', tenant: null, estimated_tokens: 306 });
    expect((await chat({ model: 'large', max_tokens: 10 })).status).toBe(403);
  });

  it('reads the route as the engine does, and is null for a body that is no OpenAI request or for another route', async () => {
    expect((await chat({ model: 'large', max_tokens: 10 }, '/v1/chat%2Fcompletions')).status).toBe(403);
    const notOpenAi = await post('/v1/chat/completions', JSON.stringify({ messages: [] }));
    expect(notOpenAi.status).toBe(403);
    expect(notOpenAi.body).toBe('null');
    expect((await post('/v1/other', JSON.stringify({ model: 'small' }))).body).toBe('null');
  });

  it('fails closed on a body it cannot read as the engine would', async () => {
    const reply = await post('/v1/chat/completions', JSON.stringify({ model: 'small', messages: [{ content: 'x' }] }), 'text/plain');
    expect(reply.status).toBe(403);
    expect(reply.headers['x-weft-error']).toBe('AUTHZ_BODY_UNREADABLE');
  });
});

function post(path: string, body: string | Buffer, contentType = 'application/json') {
  return request(s.inboundPort, { method: 'POST', path, headers: { 'content-type': contentType }, body });
}

/** A chunked request over a raw socket: each string is one chunk. */
function chunked(path: string, chunks: string[], contentType = 'application/json'): Promise<string> {
  const head = `POST ${path} HTTP/1.1\r\nhost: app\r\ncontent-type: ${contentType}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n`;
  const body = chunks.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n';
  return rawExchange(s.inboundPort, head + body);
}

describe('request bodies in the authorization input', () => {
  it('gives the policy the body and the parsed JSON body', async () => {
    const reply = await post('/echo', '{"amount":5}');
    expect(reply.status).toBe(418);
    expect(JSON.parse(reply.body)).toEqual({ body: '{"amount":5}', parsed_body: { amount: 5 }, truncated_body: false });
  });

  it('parses form bodies; an empty body is null', async () => {
    const form = await post('/echo', 'a=1&a=2&b=x+y', 'application/x-www-form-urlencoded');
    expect(JSON.parse(form.body)).toMatchObject({ parsed_body: { a: ['1', '2'], b: ['x y'] }, truncated_body: false });
    const empty = await post('/echo', '', 'text/plain');
    expect(JSON.parse(empty.body)).toEqual({ body: '', parsed_body: null, truncated_body: false });
  });

  it('gives the first maxBytes with truncated_body past the cap (allowPartial)', async () => {
    const reply = await post('/echo', '{"amount":5,"note":"longer than sixteen bytes"}');
    expect(JSON.parse(reply.body)).toEqual({ body: '{"amount":5,"not', parsed_body: '(unread)', truncated_body: true });
    const viaChunks = await chunked('/echo', ['{"amount":5,', '"note":"longer than sixteen bytes"}']);
    expect(viaChunks).toMatch(/^HTTP\/1\.1 418 /);
    expect(viaChunks).toContain('{"body":"{\\"amount\\":5,\\"not","parsed_body":"(unread)","truncated_body":true}');
  });

  it('answers 413 past the cap without allowPartial, declared or chunked', async () => {
    const big = JSON.stringify({ amount: 1, pad: 'x'.repeat(300) });
    const declared = await post('/pay', big);
    expect(declared.status).toBe(413);
    expect(declared.headers['x-weft-error']).toBe('REQUEST_BODY_TOO_LARGE');
    const viaChunks = await chunked('/pay', [big.slice(0, 200), big.slice(200)]);
    expect(viaChunks).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('forwards the body it decided on byte for byte, with its content-length or chunked', async () => {
    const body = JSON.stringify({ amount: 42, note: 'déjà vu' });
    const reply = await post('/pay', body);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ sha256: sha(body), length: Buffer.byteLength(body), contentLength: String(Buffer.byteLength(body)), chunked: false });
    const viaChunks = await chunked('/pay', ['{"amount":', '42,"note":', '"chunked"}']);
    expect(viaChunks).toMatch(/^HTTP\/1\.1 200 /);
    const received = JSON.parse(viaChunks.slice(viaChunks.indexOf('{'))) as Received;
    expect(received.sha256).toBe(sha('{"amount":42,"note":"chunked"}'));
    expect(received.length).toBe(30);
    expect((await post('/pay', '{"amount":420}')).status).toBe(403);
  });

  it('forwards the whole body after deciding on its first maxBytes (allowPartial), declared or chunked', async () => {
    const big = Buffer.concat([Buffer.from('BEGIN'), Buffer.alloc(200_000, 'z'), Buffer.from('END')]);
    const reply = await post('/upload', big, 'application/octet-stream');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ sha256: sha(big), length: big.length, contentLength: String(big.length), chunked: false });
    const parts = ['BEGIN', 'x'.repeat(100), 'y'.repeat(30_000), 'END'];
    const viaChunks = await chunked('/upload', parts, 'application/octet-stream');
    expect(viaChunks).toMatch(/^HTTP\/1\.1 200 /);
    const received = JSON.parse(viaChunks.slice(viaChunks.indexOf('{'))) as Received;
    expect(received).toMatchObject({ sha256: sha(parts.join('')), length: parts.join('').length });
  });

  it('lets a policy that reads only the body text decide on a body that is not valid JSON', async () => {
    const reply = await post('/text', '{not json at all', 'application/json');
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.body) as Received).sha256).toBe(sha('{not json at all'));
  });

  it('fails closed on invalid JSON when the policy reads parsed_body, without crashing', async () => {
    const reply = await post('/pay', '{"amount": 5,');
    expect(reply.status).toBe(403);
    expect(reply.headers['x-weft-error']).toBe('AUTHZ_BODY_UNREADABLE');
    const line = s.logLines().find((l) => l.type === 'authz_decision' && l.policy === 'small-payments' && l.decision === 'error');
    expect(line?.reason).toBe('request body is not valid JSON');
    expect((await post('/pay', '{"amount":1}')).status).toBe(200);
  });

  it('does not buffer for assets that do not ask for it', async () => {
    const big = 'y'.repeat(100_000);
    const reply = await post('/plain', big, 'text/plain');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ sha256: sha(big), length: 100_000 });
    const denied = await request(s.inboundPort, { path: '/plain' });
    expect(JSON.parse(denied.body)).toBe('<absent>');
  });

  it('does not buffer gRPC requests to an asset that decides them without the body', async () => {
    const message = Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]);
    const reply = await request(s.inboundPort, { method: 'POST', path: '/shop.Cart/Get', headers: { 'content-type': 'application/grpc', te: 'trailers' }, body: message });
    expect(reply.headers['x-weft-error']).toBe('AUTHZ_DENIED');
    expect(decodeURIComponent(String(reply.headers['grpc-message']))).toBe('AUTHZ_DENIED: body=absent');
  });

  it('bounds a body that arrives too slowly by the request timeout (408, nothing forwarded)', async () => {
    const head = 'POST /pay HTTP/1.1\r\nhost: app\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{"amount":';
    const before = upstreamRequests;
    const reply = await rawExchange(s.inboundPort, head);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(upstreamRequests).toBe(before);
  });

  // The caller keeps its stream open: the reply comes whole, then the stream is reset (NO_ERROR).
  async function http2Stalled(written: string): Promise<{ status: number; error: string; body: string }> {
    const session = http2.connect(`http://127.0.0.1:${s.inboundPort}`);
    session.on('error', () => undefined);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/pay', 'content-type': 'application/json' });
      stream.on('error', () => undefined);
      stream.write(written);
      return await new Promise((resolve) => {
        let status = 0;
        let error = '';
        let body = '';
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
          error = String(headers['x-weft-error']);
        });
        stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        stream.on('close', () => resolve({ status, error, body }));
      });
    } finally {
      session.destroy();
    }
  }

  it('forwards an HTTP/2 body whole after deciding on its start', async () => {
    const big = Buffer.concat([Buffer.from('BEGIN'), Buffer.alloc(100_000, 'q')]);
    const session = http2.connect(`http://127.0.0.1:${s.inboundPort}`);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/upload', 'content-type': 'application/octet-stream' });
      stream.end(big);
      const text = await new Promise<string>((resolve, reject) => {
        let body = '';
        stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
      });
      expect(JSON.parse(text)).toMatchObject({ sha256: sha(big), length: big.length });
    } finally {
      session.destroy();
    }
  });

  it('bounds a slow HTTP/2 body by the request timeout too, and resets the stream after the reply', async () => {
    const reply = await http2Stalled('{"amount":');
    expect(reply).toMatchObject({ status: 408, error: 'DOWNSTREAM_REQUEST_TIMEOUT' });
    expect(reply.body).toContain('DOWNSTREAM_REQUEST_TIMEOUT');
  });

  it('answers 413 to an HTTP/2 body past the cap while the caller is still sending', async () => {
    const reply = await http2Stalled(`{"amount":${' '.repeat(400)}`);
    expect(reply).toMatchObject({ status: 413, error: 'REQUEST_BODY_TOO_LARGE' });
    expect(reply.body).toContain('REQUEST_BODY_TOO_LARGE');
  });

  it('tells a caller that expects 100-continue to send the body it needs', async () => {
    const body = '{"amount":7}';
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: s.inboundPort,
        method: 'POST',
        path: '/pay',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      });
      req.on('continue', () => req.end(body));
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.text) as Received).sha256).toBe(sha(body));
  });
});
