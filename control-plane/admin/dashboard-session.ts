// The dashboard's login, as Jupyter's: `/dashboard/?token=<the read token>` is checked by the
// admin credential check (constant time) and exchanged for a session cookie (HttpOnly,
// SameSite=Strict, scoped to /dashboard/), so the token leaves the address bar. The cookie is
// `<expiry>.<HMAC of the expiry>` under a key that lives only in this process: nothing to store,
// and a restart logs everyone out. The cookie opens the dashboard only, never the /v1 API.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ControlPlaneError } from '../errors.js';
import type { AdminTokens } from './admin-tokens.js';

export const SESSION_COOKIE = 'weft-dashboard';
export const DASHBOARD_PATH = '/dashboard/';
const SESSION_SECONDS = 12 * 60 * 60;

export class DashboardSessions {
  readonly #key = randomBytes(32);
  readonly #tokens: AdminTokens;
  readonly #now: () => number;

  constructor(tokens: AdminTokens, now: () => number = Date.now) {
    this.#tokens = tokens;
    this.#now = now;
  }

  /** The Set-Cookie value for a login with `token`; only the read token logs in (a URL is no place for the write token). */
  login(token: string): string {
    const caller = this.#tokens.authenticate(`Bearer ${token}`);
    if (caller === 'missing') throw new ControlPlaneError('ADMIN_CREDENTIAL_MISSING', 'the dashboard needs the read token: open the URL `weft up` printed, or /dashboard/?token=<admin-read.token>');
    if (caller === 'invalid') throw new ControlPlaneError('ADMIN_CREDENTIAL_INVALID', 'the token is not the admin read token of this control plane');
    if (caller.scope !== 'read') throw new ControlPlaneError('ADMIN_SCOPE_INSUFFICIENT', 'the dashboard logs in with the read token only; the write token does not belong in a URL');
    const expires = this.#now() + SESSION_SECONDS * 1000;
    return `${SESSION_COOKIE}=${expires}.${this.#sign(expires).toString('base64url')}; Path=${DASHBOARD_PATH}; Max-Age=${SESSION_SECONDS}; HttpOnly; SameSite=Strict`;
  }

  /** Throws 401 unless the request carries a live session cookie of this process. */
  require(request: IncomingMessage): void {
    const value = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (value === undefined) throw new ControlPlaneError('ADMIN_CREDENTIAL_MISSING', 'log in to the dashboard with the URL `weft up` printed (/dashboard/?token=<admin-read.token>)');
    const match = /^([0-9]{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
    const expires = match === null ? 0 : Number(match[1]);
    const presented = match === null ? Buffer.alloc(32) : Buffer.from(match[2]!, 'base64url');
    const valid = timingSafeEqual(presented.length === 32 ? presented : Buffer.alloc(32), this.#sign(expires)) && match !== null;
    if (!valid || expires <= this.#now()) throw new ControlPlaneError('ADMIN_CREDENTIAL_INVALID', 'the dashboard session is not valid (expired, or from before a restart): log in again');
  }

  #sign(expires: number): Buffer {
    return createHmac('sha256', this.#key).update(`dashboard-session:${expires}`).digest();
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}
