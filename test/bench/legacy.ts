// `npm run bench:legacy`: JSON -> SOAP -> JSON round trips through the bridge (a `weft proxy`
// process whose inbound bridge filter fronts a python3-spyne SOAP 1.1 service) side by side with
// python3-zeep calling the same service directly, and the same envelope POSTed to spyne directly
// by undici (the floor the bridge's overhead is measured from). Per target: p50 of sequential
// calls (direct and bridge alternating), and calls per second with BENCH_CONCURRENCY in flight
// (zeep: as many threads), the median of BENCH_ROUNDS alternating rounds. The service runs BENCH_SPYNE_WORKERS processes (default 2, as a WSGI
// deployment would), so one Python interpreter's lock is not what both sides measure.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { spawnSidecar } from '../helpers/sidecar.js';
import { repositoryRoot, startSpyne } from '../helpers/spyne.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const sequentialCalls = Number(process.env.BENCH_SEQUENTIAL_CALLS ?? 500);
const spyneWorkers = Number(process.env.BENCH_SPYNE_WORKERS ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

const spyne = await startSpyne('unused', spyneWorkers);
const sidecar = await spawnSidecar({
  inbound: {
    port: 0,
    appPort: spyne.port,
    filters: [
      {
        name: 'bridge',
        config: {
          bridges: [
            {
              name: 'crm',
              protocol: 'soap',
              soap: { wsdl: spyne.url('soap11?wsdl') },
              routes: [{ method: 'GET', path: '/v1/customers/{id}', operation: 'GetCustomer', params: { id: 'customer_id' } }],
            },
          ],
        },
      },
      { name: 'router' },
    ],
  },
  // e.g. BENCH_SIDECAR_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the bridge.
}, process.env.BENCH_SIDECAR_NODE_ARGS?.split(' ') ?? []);

const envelope =
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns0="urn:weft:crm">' +
  '<soap:Body><ns0:GetCustomer><ns0:customer_id>7</ns0:customer_id></ns0:GetCustomer></soap:Body></soap:Envelope>';

async function viaBridge(): Promise<void> {
  const response = await request(`http://127.0.0.1:${sidecar.inboundPort}/v1/customers/7`);
  const body = (await response.body.json()) as { GetCustomerResult?: { id: number } };
  if (response.statusCode !== 200 || body.GetCustomerResult?.id !== 7) throw new Error(`bridge answered ${response.statusCode}: ${JSON.stringify(body)}`);
}

async function direct(): Promise<void> {
  const response = await request(spyne.url('soap11'), { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"GetCustomer"' }, body: envelope });
  const text = await response.body.text();
  if (response.statusCode !== 200 || !text.includes('<tns:id>7</tns:id>')) throw new Error(`spyne answered ${response.statusCode}`);
}

// Calls alternate between the two targets so the machine's noise hits both alike.
async function pairedP50(first: () => Promise<void>, second: () => Promise<void>): Promise<[number, number]> {
  for (let i = 0; i < 50; i++) await Promise.all([first(), second()]);
  const samples: [number[], number[]] = [[], []];
  for (let i = 0; i < sequentialCalls; i++) {
    for (const [index, call] of [first, second].entries()) {
      const t0 = performance.now();
      await call();
      samples[index]!.push(performance.now() - t0);
    }
  }
  return [median(samples[0]), median(samples[1])];
}

async function throughput(call: () => Promise<void>): Promise<number> {
  let calls = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await call();
        calls++;
      }
    }),
  );
  return (calls * 1000) / (performance.now() - started);
}

function zeep(threads: number): Promise<{ rps: number; p50_ms: number }> {
  const child = spawn('/usr/bin/python3', [join(repositoryRoot(), 'test', 'bench', 'zeep_client_bench.py'), spyne.url('soap11?wsdl'), String(seconds), String(threads)]);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { rps: number; p50_ms: number }) : reject(new Error(`zeep bench exited ${code}: ${err}`)))),
  );
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  const [directP50, bridgeP50] = await pairedP50(direct, viaBridge);
  const zeepSequential = await zeep(1);
  // Rounds alternate the three targets (and which goes first), so a burst of noise lands on one
  // round of each rather than on all of one; the median round of each is reported.
  const rates: { bridge: number[]; direct: number[]; zeep: number[] } = { bridge: [], direct: [], zeep: [] };
  const measures = [async () => rates.bridge.push(await throughput(viaBridge)), async () => rates.direct.push(await throughput(direct)), async () => rates.zeep.push((await zeep(concurrency)).rps)];
  for (let round = 0; round < rounds; round++) for (const measure of round % 2 === 0 ? measures : [...measures].reverse()) await measure();
  const [bridgeRps, directRps, zeepRps] = [median(rates.bridge), median(rates.direct), median(rates.zeep)];
  console.log(`spyne service: ${spyneWorkers} worker processes; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`calls per second by round (${rounds} x ${seconds} s, alternating): bridge ${rates.bridge.map(Math.round).join(', ')} | direct ${rates.direct.map(Math.round).join(', ')} | zeep ${rates.zeep.map(Math.round).join(', ')}`);
  console.log(`sequential p50: spyne direct (undici) ${directP50.toFixed(2)} ms | through the bridge ${bridgeP50.toFixed(2)} ms | zeep ${zeepSequential.p50_ms.toFixed(2)} ms`);
  console.log(
    `${concurrency} in flight: spyne direct (undici) ${Math.round(directRps)}/s | through the bridge ${Math.round(bridgeRps)}/s | zeep (${concurrency} threads) ${Math.round(zeepRps)}/s` +
      ` | bridge/zeep ${(bridgeRps / zeepRps).toFixed(2)}x`,
  );
  console.log(`legacy bench: bridge_rps=${Math.round(bridgeRps)} zeep_rps=${Math.round(zeepRps)} overhead_p50_ms=${(bridgeP50 - directP50).toFixed(2)}`);
} finally {
  await sidecar.terminate();
  spyne.stop();
}
