// `weft up --traffic`: a steady trickle of requests through the sidecars (the manifest's
// `traffic` list, each sent through its `from` workload's outbound listener as a proxy request),
// so metrics, access logs and decision logs move. A summary line every 10 s. Bounded: one request
// per target in flight at a time (a slow stream skips ticks instead of piling up), to loopback only.
import { request } from 'node:http';
import type { TrafficEntry } from './manifest.js';

export interface TrafficTarget extends Omit<TrafficEntry, 'from'> {
  /** The port of the outbound listener (on 127.0.0.1) it goes through. */
  readonly via: { readonly port: number };
}

const INTERVAL_MS = 500;
const SUMMARY_MS = 10_000;

function send(target: TrafficTarget): Promise<string> {
  return new Promise((resolve) => {
    // As an HTTP proxy client does: Host names the URL's host (the sidecar refuses a Host that
    // disagrees with the absolute-form target).
    const body = target.body === undefined ? undefined : JSON.stringify(target.body);
    const headers = { host: new URL(target.url).host, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }) };
    const req = request({ host: '127.0.0.1', port: target.via.port, method: target.method, path: target.url, headers, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve('error'));
    req.end(body);
  });
}

/** Returns what stops it. */
export function startTraffic(targets: readonly TrafficTarget[], say: (line: string) => void): () => void {
  const counts = new Map<string, number>();
  const inFlight = new Set<TrafficTarget>();
  const tick = setInterval(() => {
    for (const target of targets) {
      if (inFlight.has(target)) continue;
      inFlight.add(target);
      void send(target).then((status) => {
        inFlight.delete(target);
        const what = `${target.method} ${target.url} ${status}`;
        counts.set(what, (counts.get(what) ?? 0) + 1);
      });
    }
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
