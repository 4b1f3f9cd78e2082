// What a model server's sidecar reports as its engine's load: the last reading brought up to now
// by its own exact count of the requests it passed, split by the engine's slots once a reading
// showed them, with the requests the engine held beyond the count (not through the sidecar) kept;
// once a scrape fails, the reading as it was, dated when it was read.
import { describe, expect, it } from 'vitest';
import type { EngineReading } from '../../../control-plane/api/engine-load-scraper.js';
import { BackendInFlight } from '../../../proxy/filters/inference/backend-in-flight.js';
import { BackendLoad } from '../../../proxy/filters/inference/backend-load.js';

const reading = (waiting: number, running: number, sampled: number | undefined, at = 100): EngineReading => ({
  load: { waiting, running, kvCacheUsage: 0.25, runningLoras: ['sql'], waitingLoras: [] },
  at,
  ...(sampled === undefined ? {} : { sampled }),
});

/** A count holding `n` requests of 10 prompt and 20 output tokens; the last one is returned. */
function counted(n: number) {
  const inFlight = new BackendInFlight();
  const requests = Array.from({ length: n }, () => inFlight.start(10, 20));
  return { inFlight, last: requests.at(-1) };
}

describe("a model server's sidecar's load report", () => {
  it('counts the requests it passed since the engine was read, as of now', () => {
    const { inFlight } = counted(3);
    // Read when one request was counted and running.
    const report = new BackendLoad(inFlight).report(reading(0, 1, 1), false, 180);
    expect(report).toEqual({ load: { waiting: 0, running: 3, kvCacheUsage: 0.25, inFlightTokens: 60, activeLoras: ['sql'] }, at: 180 });
  });

  it('leaves out the request whose answer carries it, its count and its tokens', () => {
    const { inFlight, last } = counted(3);
    const report = new BackendLoad(inFlight).report(reading(0, 3, 3), false, 180, last);
    expect(report.load).toMatchObject({ waiting: 0, running: 2, inFlightTokens: 40 });
  });

  it('keeps the requests the engine held beyond its count at the reading (callers beside it)', () => {
    const { inFlight } = counted(2);
    // The engine ran 3 when the sidecar counted 1: 2 came another way.
    expect(new BackendLoad(inFlight).report(reading(0, 3, 1), false, 180).load).toMatchObject({ waiting: 0, running: 4 });
  });

  it("splits the requests by the engine's slots once a reading showed them full", () => {
    const { inFlight } = counted(7);
    const load = new BackendLoad(inFlight);
    // Unknown slots: all running.
    expect(load.report(reading(0, 2, 2), false, 150).load).toMatchObject({ waiting: 0, running: 7 });
    // Four running and one waiting: four slots.
    expect(load.report(reading(1, 4, 5), false, 180).load).toMatchObject({ waiting: 3, running: 4 });
    // Kept while later readings show no queue; raised when one shows more running.
    expect(load.report(reading(0, 3, 3), false, 200).load).toMatchObject({ waiting: 3, running: 4 });
    expect(load.report(reading(0, 5, 5), false, 220).load).toMatchObject({ waiting: 2, running: 5 });
  });

  it('once a scrape failed, or with no count taken at the reading, reports the last reading as it was, dated when it was read', () => {
    const { inFlight } = counted(3);
    const asRead = { load: { waiting: 1, running: 2, kvCacheUsage: 0.25, inFlightTokens: 60, activeLoras: ['sql'] }, at: 100 };
    expect(new BackendLoad(inFlight).report(reading(1, 2, 1, 100), true, 900)).toEqual(asRead);
    expect(new BackendLoad(inFlight).report(reading(1, 2, undefined, 100), false, 900)).toEqual(asRead);
  });
});
