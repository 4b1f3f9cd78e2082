// The proxy README's extension-point examples, quoted there verbatim, run through a sidecar: the
// body-rewriting filter resolves a model alias (the upstream gets the rewritten body), and the
// balancer sends the request to an endpoint serving that model.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFilter } from '../../proxy/filters/registry.js';
import { registerLoadBalancer } from '../../proxy/upstream/load-balancers.js';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { modelAliasFilter, modelAwareBalancer } from './examples/extension-examples.js';

interface ModelServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Answers with its name and the body it received. */
async function modelServer(name: string): Promise<ModelServer> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => res.end(JSON.stringify({ server: name, body, contentLength: req.headers['content-length'] })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the README extension examples', () => {
  let small: ModelServer;
  let large: ModelServer;
  let proxy: InProcessSidecar;

  beforeAll(async () => {
    registerFilter(modelAliasFilter);
    registerLoadBalancer(modelAwareBalancer);
    [small, large] = await Promise.all([modelServer('small'), modelServer('large')]);
    proxy = await startSidecar({
      outbound: {
        port: 0,
        filters: [{ name: 'model-alias', config: { aliases: { default: 'llama-3-8b' } } }, { name: 'router' }],
        clusters: [
          {
            name: 'models',
            hosts: ['models'],
            loadBalancer: 'model-aware',
            endpoints: [
              { address: '127.0.0.1', port: small.port, models: ['llama-3-8b'] },
              { address: '127.0.0.1', port: large.port, models: ['llama-3-70b'] },
            ],
          },
        ],
      },
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await Promise.all([small.close(), large.close()]);
  });

  const ask = (body: string) => request(proxy.outboundPort, { method: 'POST', path: '/v1/completions', headers: { host: 'models', 'content-type': 'application/json' }, body });

  it('rewrites the body and routes by the model in it', async () => {
    const aliased = JSON.parse((await ask('{"model":"default","prompt":"hi"}')).body);
    expect(aliased).toEqual({ server: 'small', body: '{"model":"llama-3-8b","prompt":"hi"}', contentLength: '36' });
    expect(JSON.parse((await ask('{"model":"llama-3-70b"}')).body).server).toBe('large');
  });

  it('refuses a body that is not JSON, and a model no endpoint serves', async () => {
    expect((await ask('not json')).status).toBe(400);
    const unserved = await ask('{"model":"gpt-9"}');
    expect(unserved.status).toBe(503);
    expect(unserved.headers['x-weft-error']).toBe('NO_HEALTHY_UPSTREAM');
  });

  it('is quoted in the proxy README as it is run here', async () => {
    const readme = await readFile(new URL('../../proxy/README.md', import.meta.url), 'utf8');
    const source = await readFile(new URL('./examples/extension-examples.ts', import.meta.url), 'utf8');
    const quoted = source.slice(source.indexOf('/** Resolves'));
    expect(readme).toContain(quoted);
  });
});
