// Token budgets reserved at admission and settled from usage, on an injected clock; and the SSE
// usage tap on a real simulated vLLM stream, split at every byte.
import { afterEach, describe, expect, it } from 'vitest';
import { fleetOf } from '../../../deploy/sim/sim-profile.js';
import { SimServer } from '../../../deploy/sim/sim-server.js';
import { SseUsageTap, usageOfJsonBody } from '../../../proxy/filters/inference/sse-usage-tap.js';
import { HeldBudgets, TokenBudgetLedger } from '../../../proxy/filters/inference/token-budgets.js';

describe('token budgets', () => {
  const minute = { windowMs: 60_000, tokens: 1000, endStreams: true };

  it('reserves at admission and refuses what would overflow, with the wait until the window ends', () => {
    let now = 90_000;
    const ledger = new TokenBudgetLedger([minute], () => now);
    expect(ledger.reserve('a', 600)).toMatchObject({ admitted: true });
    expect(ledger.reserve('a', 500)).toEqual({ admitted: false, budget: minute, retryAfterMs: 30_000 });
    // Another tenant has its own budget.
    expect(ledger.reserve('b', 900)).toMatchObject({ admitted: true });
    now = 120_000;
    expect(ledger.reserve('a', 500)).toMatchObject({ admitted: true });
  });

  it('settles a reservation from the usage: unused tokens return, extra ones are charged', () => {
    const ledger = new TokenBudgetLedger([minute], () => 0);
    const first = ledger.reserve('a', 800);
    expect(first.admitted && ledger.remaining('a')).toBe(200);
    if (!first.admitted) throw new Error('refused');
    ledger.settle(first.reservation, 150);
    expect(ledger.remaining('a')).toBe(850);
    const second = ledger.reserve('a', 100);
    if (!second.admitted) throw new Error('refused');
    ledger.settle(second.reservation, 900);
    expect(ledger.remaining('a')).toBe(0);
    expect(ledger.exhaustedForStreams('a')).toBe(true);
    expect(ledger.exhaustedForStreams('b')).toBe(false);
  });

  it('ends streams only once spending passes the budget: a reservation filling it exactly does not; a stream spending past its reservation is charged as it goes', () => {
    const ledger = new TokenBudgetLedger([minute], () => 0);
    const held = ledger.reserve('a', 1000);
    if (!held.admitted) throw new Error('refused');
    expect(ledger.exhaustedForStreams('a')).toBe(false);
    expect(ledger.extend(held.reservation, 900)).toBe(held.reservation);
    const extended = ledger.extend(held.reservation, 1010);
    expect(extended.tokens).toBe(1010);
    expect(ledger.exhaustedForStreams('a')).toBe(true);
    ledger.settle(extended, 1010);
    expect(ledger.remaining('a')).toBe(0);
    // A budget without endStreams never ends a stream.
    const lenient = new TokenBudgetLedger([{ ...minute, endStreams: false }], () => 0);
    const over = lenient.reserve('a', 1000);
    if (!over.admitted) throw new Error('refused');
    lenient.extend(over.reservation, 5000);
    expect(lenient.exhaustedForStreams('a')).toBe(false);
  });

  it('settling or extending after the window ended changes the new window nothing', () => {
    let now = 0;
    const ledger = new TokenBudgetLedger([minute], () => now);
    const held = ledger.reserve('a', 900);
    if (!held.admitted) throw new Error('refused');
    now = 60_000;
    ledger.settle(held.reservation, 10);
    expect(ledger.remaining('a')).toBe(1000);
    // With use in the new window, neither the old reservation's return nor its overspend touches it.
    expect(ledger.reserve('a', 300)).toMatchObject({ admitted: true });
    ledger.settle(held.reservation, 0);
    expect(ledger.remaining('a')).toBe(700);
    ledger.extend(held.reservation, 950);
    expect(ledger.remaining('a')).toBe(700);
  });

  it('charges a stream what it spends past its reservation, once', () => {
    const ledger = new TokenBudgetLedger([minute], () => 0);
    const held = ledger.reserve('a', 100);
    if (!held.admitted) throw new Error('refused');
    const extended = ledger.extend(held.reservation, 150);
    expect(ledger.remaining('a')).toBe(850);
    ledger.extend(extended, 170);
    expect(ledger.remaining('a')).toBe(830);
  });

  it('ends streams by the budgets that say so only, whichever of several is overspent', () => {
    const ledger = new TokenBudgetLedger([{ ...minute, endStreams: false }, { windowMs: 3_600_000, tokens: 500, endStreams: true }], () => 0);
    const held = ledger.reserve('a', 400);
    if (!held.admitted) throw new Error('refused');
    ledger.extend(held.reservation, 600);
    expect(ledger.exhaustedForStreams('a')).toBe(true);
  });

  it('stays bounded: past 100,000 tenants, those whose windows all ended are dropped, the others kept', () => {
    let now = 0;
    const ledger = new TokenBudgetLedger([minute], () => now);
    expect(ledger.reserve('kept', 10)).toMatchObject({ admitted: true });
    for (let i = 0; i < 99_999; i += 1) ledger.reserve(`old-${i}`, 1);
    now = 60_000;
    // 'kept' spends in the new window; the others' windows ended.
    expect(ledger.reserve('kept', 900)).toMatchObject({ admitted: true });
    expect(ledger.reserve('new', 1)).toMatchObject({ admitted: true });
    expect(ledger.remaining('kept')).toBe(100);
    expect(ledger.tenants).toBe(2);
    // With budgets of several windows, a tenant is dropped only once all of them ended.
    const hourly = new TokenBudgetLedger([minute, { windowMs: 3_600_000, tokens: 1500, endStreams: false }], () => now);
    now = 0;
    expect(hourly.reserve('hour', 900)).toMatchObject({ admitted: true });
    for (let i = 0; i < 99_999; i += 1) hourly.reserve(`old-${i}`, 1);
    now = 60_000;
    hourly.reserve('new', 1);
    // Its minute ended, its hour did not: 600 of the hour's 1500 left, not a fresh 1000.
    expect(hourly.remaining('hour')).toBe(600);
  });

  it("holds a request's budgets in every ledger that governs it, all or none", () => {
    const wide = new TokenBudgetLedger([minute], () => 0);
    const narrow = new TokenBudgetLedger([{ ...minute, tokens: 100 }], () => 0);
    expect(HeldBudgets.reserve([wide, narrow], 'a', 150)).toMatchObject({ admitted: false });
    // The wide ledger's share was given back.
    expect(wide.remaining('a')).toBe(1000);
    const held = HeldBudgets.reserve([wide, narrow], 'a', 80);
    if (!held.admitted) throw new Error('refused');
    held.held.extend(120);
    expect([wide.remaining('a'), narrow.remaining('a')]).toEqual([880, 0]);
    expect(held.held.exhaustedForStreams()).toBe(true);
    held.held.settle(50);
    expect([wide.remaining('a'), narrow.remaining('a')]).toEqual([950, 50]);
    // Settled once: a second settle changes nothing.
    held.held.settle(0);
    expect(wide.remaining('a')).toBe(950);
  });

  it('checks every budget: the tightest refuses', () => {
    const ledger = new TokenBudgetLedger([minute, { windowMs: 1000, tokens: 100, endStreams: false }], () => 0);
    expect(ledger.reserve('a', 150)).toMatchObject({ admitted: false, budget: { tokens: 100 } });
    expect(ledger.remaining('a')).toBe(100);
  });
});

describe('SSE usage tap', () => {
  const servers: SimServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function simStream(): Promise<Buffer> {
    const [params] = fleetOf({ servers: [{ name: 'gpu', decodeMsBase: 0, decodeMsPerSeq: 0, prefillMsPerToken: 0 }] }).servers;
    const server = new SimServer(params!);
    servers.push(server);
    const url = await server.listen('127.0.0.1');
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: params!.model, messages: [{ role: 'user', content: 'héllo wörld ✓' }], max_tokens: 5, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
    });
    return Buffer.from(await response.arrayBuffer());
  }

  it('strips the usage event it asked for, byte-split anywhere, and keeps its counts', async () => {
    const stream = await simStream();
    const events = stream.toString().split('\n\n').filter((e) => e !== '');
    const withoutUsage = events.filter((e) => !e.includes('"choices":[]')).map((e) => `${e}\n\n`).join('');
    expect(withoutUsage.length).toBeLessThan(stream.length);
    const tap = new SseUsageTap(true);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 1) out.push(tap.push(stream.subarray(i, i + 1)));
    out.push(tap.end());
    expect(Buffer.concat(out).toString()).toBe(withoutUsage);
    expect(tap.usage).toEqual({ promptTokens: Math.ceil('<|user|>\nhéllo wörld ✓\n'.length / 4), completionTokens: 5 });
  });

  it('passes every event on whole, usage chunk included, when the client asked for usage itself', async () => {
    const stream = await simStream();
    const tap = new SseUsageTap(false);
    const out = [tap.push(stream.subarray(0, 7)), tap.push(stream.subarray(7)), tap.end()];
    // Part of the first event is held until the event is complete.
    expect(out[0]!.length).toBe(0);
    expect(Buffer.concat(out).equals(stream)).toBe(true);
    expect(tap.usage).toEqual({ promptTokens: Math.ceil('<|user|>\nhéllo wörld ✓\n'.length / 4), completionTokens: 5 });
  });

  it('counts the events that carry output as tokens, not a role-only first chunk or a finish-only last one', async () => {
    const sse = (...events: unknown[]): Buffer => Buffer.from(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n');
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });
    const count = (stream: Buffer): number => {
      const tap = new SseUsageTap(false);
      tap.push(stream);
      return tap.outputEvents;
    };
    // OpenAI's shape: the role alone first, the finish reason alone last, then usage.
    expect(count(sse(chunk({ role: 'assistant', content: '' }), chunk({ content: 'a' }), chunk({ content: 'b' }), chunk({}, 'stop'), { choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } }))).toBe(2);
    // vLLM's: the last token carries the finish reason.
    expect(count(sse(chunk({ role: 'assistant', content: '' }), chunk({ content: 'a' }), chunk({ content: 'b' }, 'length')))).toBe(2);
    // Tool calls, reasoning and refusals are output; completions stream text.
    expect(count(sse(chunk({ tool_calls: [{ index: 0, function: { arguments: '{' } }] }), chunk({ reasoning_content: 'hm' }), chunk({ refusal: 'no' })))).toBe(3);
    expect(count(sse({ choices: [{ index: 0, text: 'x', finish_reason: null }] }, { choices: [{ index: 0, text: '', finish_reason: 'length' }] }))).toBe(1);
    // The Responses API streams typed events.
    expect(count(sse({ type: 'response.created' }, { type: 'response.output_text.delta', delta: 'hi' }, { type: 'response.output_text.delta', delta: '' }, { type: 'response.completed' }))).toBe(1);
    // Its usage is in response.completed's response, and that event is passed on, even when stripping.
    const responses = new SseUsageTap(true);
    const passed = responses.push(sse({ type: 'response.output_text.delta', delta: 'hi' }, { type: 'response.completed', response: { id: 'r', usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } } }));
    expect(responses.usage).toEqual({ promptTokens: 5, completionTokens: 2 });
    expect(passed.toString()).toContain('"type":"response.completed"');
    // The simulator streams as OpenAI does: five tokens, six events with choices.
    const stream = await simStream();
    expect(stream.toString().split('\n\n').filter((e) => e.includes('"choices":[{')).length).toBe(6);
    expect(count(stream)).toBe(5);
  });

  it('reads usage from a whole JSON answer, and none from a body without it', () => {
    expect(usageOfJsonBody(Buffer.from('{"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}'))).toEqual({ promptTokens: 3, completionTokens: 4 });
    expect(usageOfJsonBody(Buffer.from('{"usage":{"input_tokens":3,"output_tokens":4}}'))).toEqual({ promptTokens: 3, completionTokens: 4 });
    expect(usageOfJsonBody(Buffer.from('{"usage":{"prompt_tokens":"3"}}'))).toBeUndefined();
    expect(usageOfJsonBody(Buffer.from('not json'))).toBeUndefined();
  });
});
