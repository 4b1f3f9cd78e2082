// A bounded request loop for fault tests: `concurrency` workers send GETs over keep-alive
// connections until stopped, `maxRequests` are sent or `maxMs` pass, counting each status and
// every transport error, so a test can assert that nothing failed while it broke something.
import http from 'node:http';

export interface TrafficResult {
  readonly sent: number;
  readonly statuses: Readonly<Record<number, number>>;
  readonly errors: readonly string[];
  /** Responses that were not 2xx, and transport errors. */
  readonly failed: number;
}

export interface TrafficLoop {
  stop(): Promise<TrafficResult>;
  /** Requests answered so far. */
  answered(): number;
}

export function trafficLoop(options: { port: number; host: string; path: string; concurrency?: number; maxRequests?: number; maxMs?: number }): TrafficLoop {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency ?? 4 });
  const statuses: Record<number, number> = {};
  const errors: string[] = [];
  const maxRequests = options.maxRequests ?? 50_000;
  const deadline = Date.now() + (options.maxMs ?? 120_000);
  let sent = 0;
  let answered = 0;
  let stopped = false;
  const one = () =>
    new Promise<void>((resolve) => {
      const request = http.get({ agent, host: '127.0.0.1', port: options.port, path: options.path, headers: { host: options.host }, timeout: 10_000 }, (response) => {
        response.resume();
        response.on('end', () => {
          statuses[response.statusCode ?? 0] = (statuses[response.statusCode ?? 0] ?? 0) + 1;
          answered += 1;
          resolve();
        });
      });
      request.on('timeout', () => request.destroy(new Error('timed out after 10 s')));
      request.on('error', (error) => {
        errors.push(error.message);
        resolve();
      });
    });
  const worker = async () => {
    while (!stopped && sent < maxRequests && Date.now() < deadline) {
      sent += 1;
      await one();
    }
  };
  const workers = Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return {
    answered: () => answered,
    async stop() {
      stopped = true;
      await workers;
      agent.destroy();
      const failed = errors.length + Object.entries(statuses).filter(([code]) => Number(code) < 200 || Number(code) > 299).reduce((sum, [, n]) => sum + n, 0);
      return { sent, statuses, errors, failed };
    },
  };
}
