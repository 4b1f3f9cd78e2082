// `weft sim vllm`: simulated GPU model servers (see README.md). Without --profile, one server
// with the default parameters on --port; with one, the profile's whole fleet. Each prints its
// address once listening; SIGINT or SIGTERM closes them all.
import { parseArgs } from 'node:util';
import { fleetOf, loadFleetProfile, type FleetProfile } from './sim-profile.js';
import { SimServer } from './sim-server.js';

export const usage = `usage: weft sim vllm [options]

Runs OpenAI-compatible model servers that behave like vLLM on a GPU (running slots, a waiting
queue, prefill and decode costs, a KV cache and a prefix cache, vLLM's /metrics) without one.
See deploy/sim/README.md.

options:
  --profile FILE   a fleet profile (YAML); default: one server with default parameters
  --port N         the port of the single default server (default 8000; 0: a free one),
                   or of a profile's only server
  --model NAME     the model of the single default server
  --host HOST      the address to listen on (default 127.0.0.1)
  -h, --help       show this help`;

function usageError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

export async function run(argv: string[]): Promise<number> {
  const [engine, ...rest] = argv;
  if (engine !== 'vllm') throw usageError(engine === undefined ? 'name an engine to simulate: vllm' : `unknown engine '${engine}' (only vllm is simulated)`);
  const { values } = parseArgs({
    args: rest,
    options: { profile: { type: 'string' }, port: { type: 'string' }, model: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.profile !== undefined && values.model !== undefined) throw usageError('--model is for the single default server; the profile sets its own');
  const port = Number(values.port ?? 8000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port: not a port: ${values.port}`);
  let fleet: FleetProfile = values.profile === undefined
    ? fleetOf({ servers: [{ name: 'vllm', port, ...(values.model === undefined ? {} : { model: values.model }) }] })
    : await loadFleetProfile(values.profile);
  if (values.profile !== undefined && values.port !== undefined) {
    // A profile of one server run where the caller says (weft up gives each app a free port).
    if (fleet.servers.length !== 1) throw usageError(`--port with --profile needs a profile of one server; ${values.profile} has ${fleet.servers.length}`);
    fleet = { servers: [{ ...fleet.servers[0]!, port }] };
  }
  const servers: SimServer[] = [];
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    for (const params of fleet.servers) {
      const server = new SimServer(params);
      const url = await server.listen(values.host).catch((error: NodeJS.ErrnoException) => {
        throw Object.assign(new Error(`${params.name}: cannot listen on ${values.host}:${params.port}: ${error.code ?? error.message}`), { exitCode: 1 });
      });
      servers.push(server);
      const loras = params.loras.length === 0 ? '' : ` loras=${params.loras.join(',')}`;
      process.stdout.write(`weft sim vllm: ${params.name} ${url} model=${params.model}${loras} max_num_seqs=${params.maxNumSeqs} kv_cache_tokens=${params.kvCacheTokens}\n`);
    }
    process.stdout.write(`weft sim vllm: fleet ready (${servers.length} server${servers.length === 1 ? '' : 's'})\n`);
    await stop;
  } finally {
    await Promise.all(servers.map((server) => server.close()));
  }
  return 0;
}
