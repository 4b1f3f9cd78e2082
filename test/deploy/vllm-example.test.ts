// The README's example of weft in front of vLLM (deploy/examples/vllm/) is runnable as written:
// both sidecar configs load, and with `weft sim vllm` in vLLM's place (ports moved to free ones,
// nothing else changed) a chat completion goes caller sidecar -> model server's sidecar -> engine.
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateConfig } from '../../proxy/config/load-config.js';
import { chat, MODEL, onStop, simServer, stopAll } from '../helpers/inference-mesh.js';
import { startInProcess } from '../helpers/sidecar.js';

afterAll(stopAll);

/** The fields the test moves to free ports. */
interface ServerExample {
  admin: { port: number };
  inbound: { port: number; appPort: number; filters: { config: { metricsUrl: string } }[] };
}
interface CallerExample {
  admin: { port: number };
  outbound: { port: number; clusters: { endpoints: { port: number; models: string[] }[] }[] };
}

const example = async <T>(name: string): Promise<T> => parse(await readFile(new URL(`../../deploy/examples/vllm/${name}`, import.meta.url), 'utf8')) as T;

describe('deploy/examples/vllm', () => {
  it('runs as written with a simulated vLLM in place of the real one', async () => {
    const { port: enginePort } = await simServer('vllm-a');
    const server = await example<ServerExample>('model-server.yaml');
    server.admin.port = 0;
    server.inbound.port = 0;
    server.inbound.appPort = enginePort;
    server.inbound.filters[0]!.config.metricsUrl = `http://127.0.0.1:${enginePort}/metrics`;
    const serverSidecar = await startInProcess(validateConfig(server as unknown as Record<string, unknown>));
    onStop(() => serverSidecar.stop());

    const caller = await example<CallerExample>('caller.yaml');
    caller.admin.port = 0;
    caller.outbound.port = 0;
    caller.outbound.clusters[0]!.endpoints[0]!.port = serverSidecar.inboundPort;
    expect(caller.outbound.clusters[0]!.endpoints[0]!.models).toEqual([MODEL]);
    const callerSidecar = await startInProcess(validateConfig(caller as unknown as Record<string, unknown>));
    onStop(() => callerSidecar.stop());

    const reply = await chat(callerSidecar.outboundPort, {});
    expect(reply.status).toBe(200);
    expect(reply.headers['endpoint-load-metrics']).toBeUndefined();
    expect((JSON.parse(reply.body) as { id: string }).id).toContain('-vllm-a-');
  });
});
