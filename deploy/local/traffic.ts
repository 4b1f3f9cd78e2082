// `weft up --traffic`: a steady trickle of requests through the sidecars (the manifest's
// `traffic` list, each sent through its `from` workload's outbound listener as a proxy request),
// so metrics, access logs and decision logs move. A summary line every 10 s.
import { request } from 'node:http';

export interface TrafficTarget {
  /** host:port of the outbound listener it goes through. */
  readonly via: { readonly port: number };
  readonly url: string;
}

const INTERVAL_MS = 500;
const SUMMARY_MS = 10_000;

function send(target: TrafficTarget): Promise<string> {
  return new Promise((resolve) => {
    // As an HTTP proxy client does: Host names the URL's host (the sidecar refuses a Host that
    // disagrees with the absolute-form target).
    const headers = { host: new URL(target.url).host };
    const req = request({ host: '127.0.0.1', port: target.via.port, path: target.url, headers, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve('error'));
    req.end();
  });
}

/** Returns what stops it. */
export function startTraffic(targets: readonly TrafficTarget[], say: (line: string) => void): () => void {
  const counts = new Map<string, number>();
  const tick = setInterval(() => {
    for (const target of targets) void send(target).then((status) => counts.set(`${target.url} ${status}`, (counts.get(`${target.url} ${status}`) ?? 0) + 1));
  }, INTERVAL_MS);
  const summary = setInterval(() => {
    if (counts.size === 0) return;
    say(`weft up: traffic in the last ${SUMMARY_MS / 1000} s: ${[...counts].map(([what, n]) => `${what} x${n}`).join(', ')}`);
    counts.clear();
  }, SUMMARY_MS);
  return () => {
    clearInterval(tick);
    clearInterval(summary);
  };
}
