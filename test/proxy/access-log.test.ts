// The access log's lines, formatted by hand for speed: what JSON.stringify of the entry would
// write, one line per request whatever a caller put in its method, path or headers; and the
// batches they are written in (50 ms after the first line, at once past 64 KiB, all on flush).
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { AccessLog, type AccessLogEntry } from '../../proxy/telemetry/access-log.js';
import { LogLines } from '../../proxy/telemetry/log-lines.js';

function entry(overrides: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    startTime: Date.UTC(2026, 11, 3, 17, 0, 0, 123),
    direction: 'inbound',
    method: 'GET',
    path: '/orders?id=1',
    authority: 'orders.shop',
    status: 200,
    durationMs: 1.23456,
    bytesReceived: 0,
    bytesSent: 1024,
    upstream: '127.0.0.1:8080',
    responseFlag: '-',
    requestId: 'req-1',
    ...overrides,
  };
}

/** The line as the log wrote it before lines were formatted by hand. */
function stringified(e: AccessLogEntry): string {
  return `${JSON.stringify({
    time: new Date(e.startTime).toISOString(),
    direction: e.direction,
    method: e.method,
    path: e.path,
    authority: e.authority,
    status: e.status,
    duration_ms: Math.round(e.durationMs * 1000) / 1000,
    bytes_received: e.bytesReceived,
    bytes_sent: e.bytesSent,
    upstream: e.upstream,
    response_flags: e.responseFlag,
    request_id: e.requestId,
  })}\n`;
}

function capture(): { out: PassThrough; writes: string[] } {
  const out = new PassThrough();
  const writes: string[] = [];
  out.setEncoding('utf8').on('data', (chunk: string) => writes.push(chunk));
  return { out, writes };
}

describe('access log', () => {
  it('writes each entry as JSON.stringify would, one line whatever the caller sent', async () => {
    const { out, writes } = capture();
    const log = new AccessLog('on', 1, new LogLines(out));
    const hostile = entry({
      method: 'P"OST',
      path: '/a\n{"status":200}\r\u2028\\"\u0000\ud800',
      authority: 'h\u00e9\u{1f600}"',
      requestId: '"},{"x":"',
      responseFlag: 'UO,URX',
      durationMs: 0.0004,
    });
    const entries = [entry(), hostile, entry({ durationMs: 12345.6789, status: 503, upstream: '-' })];
    for (const e of entries) log.write(e);
    await once(out, 'data');
    expect(writes.join('')).toBe(entries.map(stringified).join(''));
    const lines = writes.join('').split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[1]!)).toMatchObject({ method: 'P"OST', path: hostile.path, request_id: hostile.requestId });
  });

  it('writes the time as toISOString would, across seconds, years and before 1970', async () => {
    const { out, writes } = capture();
    const log = new AccessLog('on', 1, new LogLines(out));
    const times = [
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(2027, 0, 1, 0, 0, 0, 0),
      Date.UTC(2027, 0, 1, 0, 0, 0, 7),
      Date.UTC(2027, 0, 1, 0, 0, 0, 42),
      Date.UTC(2027, 0, 1, 0, 0, 1, 500) + 0.75,
      Date.UTC(2027, 0, 1, 0, 0, 0, 999),
      0,
      -1,
      Date.UTC(1969, 6, 20, 20, 17, 40, 5),
    ];
    for (const startTime of times) log.write(entry({ startTime }));
    await once(out, 'data');
    const logged = writes.join('').split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as { time: string }).time);
    expect(logged).toEqual(times.map((t) => new Date(t).toISOString()));
  });

  it('writes the lines queued within 50 ms in one write', async () => {
    const { out, writes } = capture();
    const lines = new LogLines(out);
    const queuedAt = performance.now();
    lines.write('{"a":1}\n');
    await turn();
    lines.write('{"b":2}\n');
    expect(writes).toEqual([]);
    await once(out, 'data');
    expect(performance.now() - queuedAt).toBeGreaterThanOrEqual(40);
    expect(writes).toEqual(['{"a":1}\n{"b":2}\n']);
    lines.write('{"c":3}\n');
    await once(out, 'data');
    expect(writes).toEqual(['{"a":1}\n{"b":2}\n', '{"c":3}\n']);
  });

  it('writes at once when 64 KiB are queued, and what is queued on flush', () => {
    const { out, writes } = capture();
    const lines = new LogLines(out);
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 63; i++) lines.write(line);
    expect(writes).toEqual([]);
    lines.write(line);
    expect(writes.join('')).toBe(line.repeat(64));
    lines.write('{"last":true}\n');
    lines.flush();
    expect(writes.join('')).toBe(`${line.repeat(64)}{"last":true}\n`);
  });
});
