// bench:grpc — unary gRPC calls (grpc-js client and server, 100-byte messages) directly, and
// through two weft sidecars (`weft proxy` processes) with mutual TLS between them, side by side
// in one run. Two measures per target, each taken BENCH_ROUNDS times in turn (targets
// alternating, so noise from other work hits both alike) and the best round kept:
//   - latency at a fixed open-loop rate (BENCH_RPS, default 1,000 calls/s): p50 and p99;
//   - throughput with BENCH_CONCURRENCY calls always in flight (closed loop).
// No authorization policy is in the chain yet (the authz filter is another branch).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startCaServer } from '../helpers/ca-server.js';
import { echoClient, echoService, startEchoServer } from '../helpers/grpc-echo.js';
import { spawnSidecar, type SidecarProcess } from '../helpers/sidecar.js';
import { testId } from '../helpers/throwaway-ca.js';

const rate = Number(process.env.BENCH_RPS ?? 1000);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const sidecarNodeOptions = process.env.SIDECAR_NODE_OPTIONS ?? '--max-semi-space-size=2';

const raw = (buffer: Buffer): Buffer => buffer;
const payload = Buffer.alloc(100, 0x61);

function call(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(echoService.Unary.path, raw, raw, payload, (error) => (error ? reject(error) : resolve()));
  });
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Calls at a fixed rate (not waiting for replies), each latency from its own start. */
async function fixedRate(client: grpc.Client): Promise<{ p50: number; p99: number; errors: number }> {
  const total = Math.round(rate * seconds);
  const latencies = new Float64Array(total);
  let issued = 0;
  let settled = 0;
  let errors = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      for (; issued < due; issued++) {
        const index = issued;
        const t0 = performance.now();
        call(client).then(
          () => {
            latencies[index] = performance.now() - t0;
            if (++settled === total) resolve();
          },
          (error: unknown) => {
            if (errors === 0) console.error(String(error));
            errors++;
            latencies[index] = Number.POSITIVE_INFINITY;
            if (++settled === total) resolve();
          },
        );
      }
      if (issued < total) setTimeout(tick, 1);
    };
    tick();
  });
  latencies.sort();
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

/** Calls with `concurrency` always in flight for `seconds`. */
async function closedLoop(client: grpc.Client): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      await call(client);
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const server = await startEchoServer();
  const ca = await startCaServer();
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-grpc-'));
  const bundle = join(dir, 'root-cert.pem');
  await writeFile(bundle, ca.ca.trustBundlePems.join(''));
  const sidecars: SidecarProcess[] = [];
  const identity = async (workload: string): Promise<Record<string, unknown>> => {
    const tokenFile = join(dir, `${workload}.token`);
    await writeFile(tokenFile, `${await ca.tokens.mint({ spiffeId: testId(workload) })}\n`);
    return { trustDomain: 'test.local', ca: { address: ca.endpoint.address, trustBundleFile: bundle }, bootstrapTokenFile: tokenFile };
  };
  process.env.NODE_OPTIONS = sidecarNodeOptions;
  try {
    const backend = await spawnSidecar({ workload: 'backend', accessLog: { mode: 'off' }, identity: await identity('backend'), inbound: { port: 0, appPort: server.port } });
    sidecars.push(backend);
    const frontend = await spawnSidecar({
      workload: 'frontend',
      accessLog: { mode: 'off' },
      identity: await identity('frontend'),
      outbound: {
        port: 0,
        clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: testId('backend') }],
      },
    });
    sidecars.push(frontend);
    const targets = [
      { name: 'direct', client: echoClient(server.port, 'backend') },
      { name: 'two sidecars (mTLS)', client: echoClient(frontend.outboundPort, 'backend') },
    ];
    for (const target of targets) for (let i = 0; i < 200; i++) await call(target.client);
    const best = targets.map(() => ({ p50: Infinity, p99: Infinity, rps: 0, errors: 0 }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, target] of targets.entries()) {
        const latency = await fixedRate(target.client);
        const rps = await closedLoop(target.client);
        const b = best[i]!;
        b.p50 = Math.min(b.p50, latency.p50);
        b.p99 = Math.min(b.p99, latency.p99);
        b.rps = Math.max(b.rps, rps);
        b.errors += latency.errors;
      }
    }
    console.log(`unary gRPC, ${payload.length}-byte messages; ${rate} calls/s for ${seconds}s (latency); ${concurrency} in flight for ${seconds}s (throughput); best of ${rounds}`);
    for (const [i, target] of targets.entries()) {
      const b = best[i]!;
      console.log(`${target.name.padEnd(22)} p50=${b.p50.toFixed(3)}ms p99=${b.p99.toFixed(3)}ms max_rps=${b.rps.toFixed(0)} errors=${b.errors}`);
    }
    console.log(`sidecar RSS after the run: frontend=${((await frontend.rss()) / 2 ** 20).toFixed(0)}MB backend=${((await backend.rss()) / 2 ** 20).toFixed(0)}MB`);
    console.log('authz: no policy in the chain (the 20-rule policy joins when the authz filter is merged)');
    const [direct, mesh] = best as [(typeof best)[0], (typeof best)[0]];
    console.log(
      `grpc bench: rps_ratio=${(mesh.rps / direct.rps).toFixed(2)} added_p50_ms=${(mesh.p50 - direct.p50).toFixed(3)} added_p99_ms=${(mesh.p99 - direct.p99).toFixed(3)}`,
    );
    for (const target of targets) target.client.close();
  } catch (error) {
    for (const sidecar of sidecars) process.stderr.write(sidecar.stderr());
    throw error;
  } finally {
    for (const sidecar of sidecars) await sidecar.terminate();
    await server.close();
    await ca.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
