// Which catalogue code an upstream failure (an undici or socket error) is.
import type { ErrorCode } from '../errors.js';

/** `connected`: whether a connection to the endpoint was up when the request failed. */
export function upstreamErrorCode(error: Error, connected: boolean): ErrorCode {
  const code = (error as { code?: unknown }).code;
  // A per-try timeout may end a try still connecting: a timeout all the same.
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'UPSTREAM_REQUEST_TIMEOUT';
  if (!connected) return 'UPSTREAM_CONNECT_FAILURE';
  switch (code) {
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return 'DOWNSTREAM_PROTOCOL_ERROR';
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_INFO':
      return 'UPSTREAM_PROTOCOL_ERROR';
    default:
      return typeof code === 'string' && code.startsWith('HPE_') ? 'UPSTREAM_PROTOCOL_ERROR' : 'UPSTREAM_CONNECTION_TERMINATION';
  }
}
