// A FilterExchange for driving one filter in-process: an inbound GET / to `orders` from a
// plaintext caller, with whatever a test sets over it.
import type { FilterExchange } from '../../proxy/filters/http-filter.js';

export function filterExchange(overrides: Partial<FilterExchange> = {}): FilterExchange {
  return {
    direction: 'inbound',
    method: 'GET',
    path: '/',
    authority: 'orders',
    requestId: 'r1',
    requestHeaders: [],
    sourcePrincipal: undefined,
    sourceAddress: '127.0.0.1',
    sourcePort: 5000,
    scheme: 'http',
    protocol: 'HTTP/1.1',
    hasBody: false,
    endUser: undefined,
    metadata: undefined,
    route: undefined,
    responseStatus: 0,
    responseHeaders: undefined,
    ...overrides,
  };
}
