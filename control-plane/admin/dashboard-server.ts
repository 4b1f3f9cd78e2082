// The dashboard on the admin listener: `/dashboard/?token=` logs in (dashboard-session.ts), then
// the page, its static assets (plain HTML/CSS/ES modules from ./dashboard/, no build step) and
// its data: `/dashboard/state` (one JSON snapshot) and `/dashboard/events` (server-sent events:
// a snapshot at once, then each time it changed, checked once a second). Charts are drawn by
// uPlot, served as its package ships it built (node_modules/uplot/dist/).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ControlPlaneError } from '../errors.js';
import { sendJson } from './admin-responses.js';
import type { AdminTokens } from './admin-tokens.js';
import { DASHBOARD_PATH, DashboardSessions } from './dashboard-session.js';
import type { DashboardState } from './dashboard-state.js';

const PUSH_INTERVAL_MS = 1000;
const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};
/** The charting library's built files, by the name the page asks for. */
const UPLOT_DIST = dirname(createRequire(import.meta.url).resolve('uplot'));
const LIBRARY_ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  'uPlot.iife.min.js': { file: join(UPLOT_DIST, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { file: join(UPLOT_DIST, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/** The assets beside this module (run from source), or in the source tree beside dist/ (run built). */
function assetDirectory(): string {
  const candidates = [new URL('./dashboard/', import.meta.url), new URL('../../../control-plane/admin/dashboard/', import.meta.url)];
  const found = candidates.find((dir) => existsSync(new URL('index.html', dir)));
  return fileURLToPath(found ?? candidates[0]!);
}

export class DashboardServer {
  readonly #sessions: DashboardSessions;
  readonly #state: () => DashboardState;
  readonly #assets = assetDirectory();
  readonly #streams = new Set<ServerResponse>();
  #last = '';
  #timer: NodeJS.Timeout | undefined;

  readonly #refresh: () => Promise<void>;

  /** `refresh` reads what the state shows from elsewhere (the sidecars), before each push. */
  constructor(tokens: AdminTokens, state: () => DashboardState, refresh: () => Promise<void> = async () => undefined) {
    this.#sessions = new DashboardSessions(tokens);
    this.#state = state;
    this.#refresh = refresh;
  }

  static handles(pathname: string): boolean {
    return pathname === '/dashboard' || pathname.startsWith(DASHBOARD_PATH);
  }

  async serve(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    if (request.method !== 'GET') throw new ControlPlaneError('RESOURCE_NOT_FOUND', `no admin endpoint ${request.method ?? '?'} ${url.pathname}`);
    const token = url.searchParams.get('token');
    if (token !== null) {
      const cookie = this.#sessions.login(token);
      response.writeHead(303, { ...PAGE_HEADERS, 'set-cookie': cookie, location: DASHBOARD_PATH });
      response.end();
      return;
    }
    this.#sessions.require(request);
    const name = url.pathname === '/dashboard' || url.pathname === DASHBOARD_PATH ? 'index.html' : url.pathname.slice(DASHBOARD_PATH.length);
    if (name === 'state') return sendJson(response, 200, this.#state());
    if (name === 'events') return this.#subscribe(response);
    const library = Object.hasOwn(LIBRARY_ASSETS, name) ? LIBRARY_ASSETS[name]! : undefined;
    if (!Object.hasOwn(ASSETS, name) && library === undefined) throw new ControlPlaneError('RESOURCE_NOT_FOUND', `no dashboard file ${name}`);
    const body = await readFile(library?.file ?? `${this.#assets}/${name}`);
    response.writeHead(200, { ...PAGE_HEADERS, 'content-type': library?.type ?? ASSETS[name]!, 'content-length': body.length });
    response.end(body);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
  }

  #subscribe(response: ServerResponse): void {
    response.writeHead(200, { ...PAGE_HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
    response.write(`data: ${JSON.stringify(this.#state())}\n\n`);
    this.#streams.add(response);
    response.on('close', () => {
      this.#streams.delete(response);
      if (this.#streams.size === 0) this.close();
    });
    this.#timer ??= setInterval(() => void this.#refresh().then(() => this.#push()), PUSH_INTERVAL_MS);
  }

  #push(): void {
    const text = JSON.stringify(this.#state());
    if (text === this.#last) return;
    this.#last = text;
    for (const stream of this.#streams) stream.write(`data: ${text}\n\n`);
  }
}
