// weft up's legacy and inference demo through the real processes it starts: web calls the SOAP
// erp as JSON through erp's sidecar's legacy bridge (a Rego policy on the operation and its
// arguments, a SOAP fault mapped to 404), and the pool `llm` of three simulated vLLM servers,
// each behind its own sidecar (models, a streamed chat completion to [DONE]).
import { describe, expect, it } from 'vitest';
import { demoMeshForTests, viaProxy } from './up-fixture.js';

const GET_CUSTOMER = 'http://erp/soap/CustomerService/GetCustomer';

describe('weft up demo: the SOAP erp behind the legacy bridge, the inference pool llm', () => {
  const mesh = demoMeshForTests();
  const web = () => mesh.record().workloads.web!.outbound;

  it('starts erp and the three model servers, each with its own identity', () => {
    const { workloads } = mesh.record();
    expect(workloads.erp!.identity).toBe('spiffe://cluster.local/ns/default/sa/erp');
    for (const name of ['llm-fast', 'llm-medium', 'llm-slow']) expect(workloads[name]!.identity).toBe('spiffe://cluster.local/ns/default/sa/llm');
  });

  it('answers web JSON from the SOAP CustomerService (the record only the erp app holds)', async () => {
    const answer = await viaProxy(web(), GET_CUSTOMER, { customerId: '42' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toEqual({ customer: { id: '42', name: 'Grace Hopper', country: 'US', creditLimit: 50000 } });
  });

  it("maps the SOAP fault of an unknown customer to 404 in the bridge's JSON error shape", async () => {
    const answer = await viaProxy(web(), GET_CUSTOMER, { customerId: '99' });
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'LEGACY_CLIENT_FAULT', status: 404, fault: { code: 'Client.CustomerNotFound' } } });
  });

  it("denies a restricted customer with 403, decided by erp's policy on the bridged arguments", async () => {
    const mark = mesh.up().output().length;
    expect((await viaProxy(web(), GET_CUSTOMER, { customerId: '7' })).status).toBe(403);
    await mesh.up().waitFor(/erp-sidecar +\| .*"erp-customer-lookup"/, 5000, mark);
  });

  it("lists the pool's model at http://llm/v1/models", async () => {
    const answer = await viaProxy(web(), 'http://llm/v1/models');
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.body) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(['sim/llama-3-8b']);
  });

  it('streams a chat completion from one of the pool, event by event, ending with data: [DONE]', async () => {
    const answer = await viaProxy(web(), 'http://llm/v1/chat/completions', { model: 'sim/llama-3-8b', stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'Say hello' }] });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = answer.body.split('\n\n').filter((e) => e !== '');
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')) as { id: string; choices: { delta: { content?: string } }[] });
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks[0]!.id).toMatch(/^chatcmpl-llm-(fast|medium|slow)-/);
    expect(answer.headers['endpoint-load-metrics']).toBeUndefined();
  });
});
