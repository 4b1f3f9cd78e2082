// The one place where the admin API turns outcomes and errors into HTTP responses.
import type { ServerResponse } from 'node:http';
import { ChangeRefusedError, CONTROL_PLANE_ERRORS, ControlPlaneError } from '../errors.js';

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

export function sendError(response: ServerResponse, error: unknown, log: (line: string) => void): void {
  if (error instanceof ChangeRefusedError) {
    sendJson(response, 422, { error: { code: 'CHANGE_REFUSED', message: 'the change was refused whole; nothing was applied', problems: error.problems } });
    return;
  }
  if (error instanceof ControlPlaneError) {
    sendJson(response, CONTROL_PLANE_ERRORS[error.code].http, { error: { code: error.code, message: error.message } });
    return;
  }
  log(`admin: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  sendJson(response, 500, { error: { code: 'INTERNAL', message: 'internal error (see the control-plane log)' } });
}
