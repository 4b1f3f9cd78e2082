// `npm run bench:policy`: decisions of a mesh authorization policy at 20 and 2,000 rules,
// in-process after warm-up, side by side with the same decision written in JavaScript.
import { compile } from '../../policies/index.js';
import { authzPolicy, authzRequests, nativeDecision } from './policy-fixture.js';

const WARMUP = 20_000;
// The machine is shared and noisy: figures are the median over rounds of this many decisions.
const ROUNDS = 7;
const PER_ROUND = 20_000;

interface Figures {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

function median(values: number[]): number {
  return values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

function rounds(decide: (i: number) => unknown): Figures {
  const all = Array.from({ length: ROUNDS }, () => measure(decide, PER_ROUND));
  return { perSecond: median(all.map((f) => f.perSecond)), p50: median(all.map((f) => f.p50)), p99: median(all.map((f) => f.p99)) };
}

function measure(decide: (i: number) => unknown, count: number): Figures {
  const samples = new Float64Array(count);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    decide(i);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const total = Number(process.hrtime.bigint() - started) / 1e9;
  samples.sort();
  return { perSecond: count / total, p50: samples[Math.floor(count * 0.5)]!, p99: samples[Math.floor(count * 0.99)]! };
}

function run(rules: number): Figures {
  const source = authzPolicy(rules);
  const t0 = performance.now();
  const policy = compile([{ file: 'authz.rego', source }]);
  const compileMs = performance.now() - t0;
  const requests = authzRequests(rules, 1000);
  const native = nativeDecision(rules);
  for (let i = 0; i < requests.length; i++) {
    const expected = native(requests[i]!);
    const got = policy.evaluate('data.envoy.authz.allow', { input: requests[i] }).value;
    if (got !== expected) throw new Error(`engine and baseline disagree on request ${i}: ${String(got)} vs ${String(expected)}`);
  }
  const engine = (i: number): unknown => policy.evaluate('data.envoy.authz.allow', { input: requests[i % requests.length] }).value;
  const baseline = (i: number): unknown => native(requests[i % requests.length]!);
  measure(engine, WARMUP);
  measure(baseline, WARMUP);
  const figures = rounds(engine);
  const base = rounds(baseline);
  const lines = source.split('\n').length;
  console.log(
    `${String(rules).padStart(5)} rules (${lines} lines, compiled in ${compileMs.toFixed(1)} ms): ` +
      `${Math.round(figures.perSecond)} decisions/s, p50 ${figures.p50.toFixed(2)} us, p99 ${figures.p99.toFixed(2)} us | ` +
      `JavaScript baseline ${Math.round(base.perSecond)}/s, p50 ${base.p50.toFixed(2)} us; ratio p50 ${(figures.p50 / base.p50).toFixed(1)}x`,
  );
  return figures;
}

const small = run(20);
const large = run(2000);
console.log(
  `policy bench: p50_us=${small.p50.toFixed(2)} p99_us=${small.p99.toFixed(2)} p99_2000_rules_us=${large.p99.toFixed(2)} scaling=${(large.p99 / small.p99).toFixed(2)}`,
);
