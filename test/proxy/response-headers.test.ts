// The upstream's response headers as the caller gets them (http/headers.ts forwardResponseHeaders),
// from the header object undici's handler API and node:http2 give: hop-by-hop headers and those
// a Connection header names are dropped, repeated values and cookies kept one by one.
import { describe, expect, it } from 'vitest';
import { forwardResponseHeaders } from '../../proxy/http/headers.js';

describe('forwardResponseHeaders', () => {
  it('drops hop-by-hop headers and those Connection names, in one value or several', () => {
    expect(
      forwardResponseHeaders({
        ':status': 200,
        connection: ['keep-alive, X-Internal', 'x-other'],
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'x-internal': 'secret',
        'x-other': 'also',
        'content-type': 'text/plain',
        'set-cookie': ['a=1', 'b=2; Path=/'],
        'x-repeated': ['one', 'two'],
        trailer: 'x-checksum',
      }),
    ).toEqual(['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2; Path=/', 'x-repeated', 'one', 'x-repeated', 'two', 'trailer', 'x-checksum']);
  });

  it('keeps what a Connection header names only when it names nothing but its own options', () => {
    expect(forwardResponseHeaders({ connection: 'close', 'content-length': '2', upgrade: 'websocket' })).toEqual(['content-length', '2']);
    expect(forwardResponseHeaders({})).toEqual([]);
  });
});
