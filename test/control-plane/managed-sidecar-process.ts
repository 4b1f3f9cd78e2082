// Runs `weft proxy --control-plane` as a real child process of the built CLI: a managed sidecar
// that takes its certificate (bootstrap token) and its config from the control plane.
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { weftBin } from '../helpers/weft-cli.js';
import { unusedPort, until } from './control-plane-fixture.js';

export interface ManagedSidecarProcess {
  readonly outboundPort: number;
  readonly inboundPort: number;
  output(): string;
  kill(): Promise<void>;
}

/** `args`: more flags of `weft proxy` (e.g. `--pod-ip`). */
export async function spawnManagedSidecar(options: { controlPlane: string; workload: string; token: string; trustBundle: string; appPort: number; args?: readonly string[] }): Promise<ManagedSidecarProcess> {
  const state = await mkdtemp(join(tmpdir(), `weft-${options.workload}-`));
  const tokenFile = join(state, 'token');
  await writeFile(tokenFile, options.token, { mode: 0o600 });
  const inboundPort = await unusedPort();
  const child = spawn(
    process.execPath,
    [weftBin, 'proxy', '--control-plane', options.controlPlane, '--workload', options.workload, '--trust-domain', 'weft.test', '--trust-bundle', options.trustBundle,
      '--token-file', tokenFile, '--app-port', String(options.appPort), '--inbound-port', String(inboundPort), '--outbound-port', '0', '--admin-port', '0', '--state-dir', state, ...(options.args ?? [])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await until(() => /weft proxy: ready .* outbound=127\.0\.0\.1:(\d+)/.exec(output) ?? child.exitCode !== null, `the ${options.workload} sidecar to be ready`, 30_000);
  if (ready === true) throw new Error(`the ${options.workload} sidecar exited ${child.exitCode}:\n${output}`);
  return {
    outboundPort: Number(ready[1]),
    inboundPort,
    output: () => output,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
