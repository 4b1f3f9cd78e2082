// The one place where the admin API turns outcomes and errors into HTTP responses.
import type { ServerResponse } from 'node:http';
import { httpError } from '../api/error-catalogue.js';
import { ChangeRefusedError, CONTROL_PLANE_ERRORS, ControlPlaneError, type ControlPlaneErrorCode } from '../errors.js';

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendCode(response: ServerResponse, code: ControlPlaneErrorCode, message: string, more?: Record<string, unknown>): void {
  const { status, body } = httpError(CONTROL_PLANE_ERRORS, code, message, more);
  sendJson(response, status, body);
}

export function sendError(response: ServerResponse, error: unknown, log: (line: string) => void): void {
  if (error instanceof ChangeRefusedError) {
    sendCode(response, 'CHANGE_REFUSED', CONTROL_PLANE_ERRORS.CHANGE_REFUSED.message, { problems: error.problems });
    return;
  }
  if (error instanceof ControlPlaneError) {
    sendCode(response, error.code, error.message);
    return;
  }
  log(`admin: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  sendCode(response, 'INTERNAL', CONTROL_PLANE_ERRORS.INTERNAL.message);
}
