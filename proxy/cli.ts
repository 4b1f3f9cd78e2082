// `weft proxy --config FILE`: runs one sidecar from a YAML file until SIGTERM or SIGINT, then
// drains (stops accepting, lets requests in flight finish up to the deadline) and exits 0.
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config/load-config.js';
import { Sidecar } from './sidecar.js';
import { startMeshSecurity } from './tls/mesh-security.js';

export const usage = `usage: weft proxy --config FILE

Runs one sidecar proxy from a YAML config file (see proxy/README.md).

options:
  --config FILE   the sidecar's config (required)
  -h, --help      show this help`;

function usageError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

function show(address: AddressInfo | undefined): string {
  return address === undefined ? '-' : `${address.address}:${address.port}`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } }, strict: true, allowPositionals: false });
  if (values.config === undefined) throw usageError('--config FILE is required');
  const config = await loadConfigFile(values.config);
  const security = await startMeshSecurity(config);
  let sidecar: Sidecar;
  try {
    sidecar = await Sidecar.start(config, security === undefined ? {} : { security, identity: security.identity });
  } catch (error) {
    throw Object.assign(new Error(`cannot start: ${(error as Error).message}`), { exitCode: 1 });
  }
  const { admin, inbound, outbound } = sidecar.addresses;
  process.stderr.write(`weft proxy: ready workload=${config.workload} inbound=${show(inbound)} outbound=${show(outbound)} admin=${show(admin)}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  process.stderr.write(`weft proxy: ${signal}, draining (deadline ${config.drain.deadlineMs} ms)\n`);
  await sidecar.drain();
  security?.identity.stop();
  process.stderr.write('weft proxy: drained\n');
  return 0;
}
