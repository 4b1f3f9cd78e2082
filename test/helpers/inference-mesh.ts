// Inference routing tests' mesh: `weft sim vllm` servers (optionally each behind an inbound
// sidecar reporting its engine's load), a caller's outbound sidecar with the `inference` filter
// and balancer in front of them, and OpenAI requests through it. Everything started is stopped
// by `stopAll`, last started first.
import http from 'node:http';
import { fleetOf, type ServerParams } from '../../deploy/sim/sim-profile.js';
import { SimServer } from '../../deploy/sim/sim-server.js';
import { request, type Reply } from './http-client.js';
import { startSidecar, type InProcessSidecar } from './sidecar.js';

export const MODEL = 'sim/llama-3-8b';

const stops: (() => Promise<void> | void)[] = [];

export function onStop(stop: () => Promise<void> | void): void {
  stops.push(stop);
}

export async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop();
}

/** A fast simulated engine (short prefill and decode) with `overrides` of its parameters. */
export async function simServer(name: string, overrides: Record<string, unknown> = {}): Promise<{ sim: SimServer; port: number }> {
  const [params] = fleetOf({ servers: [{ name, maxNumSeqs: 8, kvCacheTokens: 40_000, prefixCacheBlocks: 1000, prefillMsPerToken: 0.0001, decodeMsBase: 2, decodeMsPerSeq: 0, ...overrides }] }).servers;
  const sim = new SimServer(params as ServerParams);
  const url = await sim.listen('127.0.0.1');
  onStop(() => sim.close());
  return { sim, port: Number(new URL(url).port) };
}

export interface SimBehindSidecar {
  readonly sim: SimServer;
  readonly sidecar: InProcessSidecar;
  /** The engine's own port (no load reports). */
  readonly port: number;
}

/**
 * A simulated engine behind its inbound sidecar, which reports the engine's load on every
 * response (`loadReport`: more of that filter's config).
 */
export async function simBehindSidecar(name: string, overrides: Record<string, unknown> = {}, loadReport: Record<string, unknown> = {}): Promise<SimBehindSidecar> {
  const { sim, port } = await simServer(name, overrides);
  const sidecar = await startSidecar({
    inbound: {
      address: '127.0.0.1',
      port: 0,
      appPort: port,
      filters: [{ name: 'inference-load-report', config: { metricsUrl: `http://127.0.0.1:${port}/metrics`, intervalMs: 20, ...loadReport } }, { name: 'router' }],
    },
  });
  onStop(() => sidecar.stop());
  return { sim, sidecar, port };
}

export interface CallerOptions {
  readonly inference?: object;
  readonly balancer?: object;
  /** More of the cluster's config (retries, ...). */
  readonly cluster?: object;
  /** What each endpoint serves (default: MODEL). */
  readonly models?: readonly string[];
  /** The calling workload's name: without a mesh identity, its tenant is `workload:default/NAME`. */
  readonly workload?: string;
}

/** The caller's outbound sidecar: host `llm` to the backends (sidecars, or engine ports) with the inference balancer. */
export async function caller(backends: readonly (InProcessSidecar | number)[], options: CallerOptions = {}): Promise<InProcessSidecar> {
  const sidecar = await startSidecar({
    ...(options.workload === undefined ? {} : { workload: options.workload }),
    outbound: {
      port: 0,
      filters: [{ name: 'inference', config: options.inference ?? {} }, { name: 'router' }],
      clusters: [
        {
          name: 'llm',
          hosts: ['llm'],
          loadBalancer: 'inference',
          loadBalancerConfig: { staleAfterMs: 600_000, ...options.balancer },
          endpoints: backends.map((b) => ({ address: '127.0.0.1', port: typeof b === 'number' ? b : b.inboundPort, models: options.models ?? [MODEL] })),
          ...options.cluster,
        },
      ],
    },
  });
  onStop(() => sidecar.stop());
  return sidecar;
}

/** A chat completion through the caller (non-streamed unless `body` says so). */
export function chat(port: number, body: object, headers: Record<string, string> = {}): Promise<Reply> {
  return request(port, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { host: 'llm', 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 4, ...body }),
  });
}

export interface StreamedReply {
  readonly status: number;
  readonly contentType: string | undefined;
  /** The body as it arrived, chunk by chunk. */
  readonly chunks: string[];
  /** Whether the response ended cleanly (not cut). */
  readonly complete: boolean;
}

/** A streamed chat completion through the caller, read to its end (or its cut). */
export function streamChat(port: number, body: object): Promise<StreamedReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { host: 'llm', 'content-type': 'application/json' }, agent: false }, (res) => {
      const chunks: string[] = [];
      res.setEncoding('utf8').on('data', (chunk: string) => chunks.push(chunk));
      const done = () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], chunks, complete: res.complete });
      res.on('end', done).on('error', done).on('close', done);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'stream me' }], max_tokens: 6, ignore_eos: true, stream: true, ...body }));
  });
}

/** The events of an SSE body, without their blank lines. */
export const sseEvents = (chunks: readonly string[]): string[] => chunks.join('').split('\n\n').filter((event) => event !== '');

/** The sim server that answered: its name is in the completion's id. */
export const servedBy = (reply: Reply): string => (JSON.parse(reply.body) as { id: string }).id.split('-')[1]!;
