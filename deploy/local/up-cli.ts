// `weft up [DIR]`: a whole mesh on this machine. The control plane on DIR's resources (state and
// CA in .weft/), then for each workload of DIR's weft-up.json its app and its sidecar, each its
// own process with its own SPIFFE identity (a fresh bootstrap token at each start). Once every
// sidecar holds a certificate and has ACKed its snapshot: `weft: mesh ready`, the addresses, and
// .weft/up.json. Ctrl-C or SIGTERM stops everything.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ADMIN_TOKEN_FILES } from '../../control-plane/api/admin-contract.js';
import { expandCommand, loadManifest, MANIFEST_FILE, type Manifest } from './manifest.js';
import { accepts, healthy, sidecarServing, sidecarStates, workloadAccounts } from './mesh-status.js';
import { assignPorts, type PortWish } from './ports.js';
import { ProcessOutput } from './process-output.js';
import { SupervisedProcess } from './supervised-process.js';
import { startTraffic } from './traffic.js';
import { fillIn, table, writeUpRecord, type UpRecord } from './up-report.js';

const WEFT_HOME = fileURLToPath(new URL('../../../', import.meta.url));
const WEFT_BIN = fileURLToPath(new URL('../cli/weft.js', import.meta.url));
const DEFAULT_DIR = join(WEFT_HOME, 'deploy', 'local');
const TRUST_DOMAIN = 'cluster.local';
/** Keeps a sidecar's young generation small: under 80 MB resident (proxy/README.md). */
export const SIDECAR_NODE_OPTIONS = '--max-semi-space-size=2';
const STOP_DEADLINE_MS = 3000;

export const usage = `usage: weft up [DIR] [options]

Runs a whole mesh on this machine: the control plane on DIR's resources, and for each workload of
DIR/${MANIFEST_FILE} its app and its sidecar (mTLS, SPIFFE identity, policies from DIR).
DIR defaults to weft's own demo, deploy/local/. See deploy/README.md.

options:
  --state-dir DIR   state, CA, logs and up.json (default .weft)
  --quiet           processes log into <state-dir>/logs/ instead of the console
  --traffic         send a steady trickle of requests (the manifest's traffic list)
  -h, --help        show this help`;

interface WorkloadPorts {
  readonly app: number;
  readonly inbound: number;
  readonly outbound: number;
  readonly admin: number;
}

function fatal(message: string, exitCode: number): Error {
  return Object.assign(new Error(message), { exitCode });
}

async function planPorts(manifest: Manifest, file: string): Promise<{ grpc: number; admin: number; workloads: Map<string, WorkloadPorts> }> {
  const wishes: PortWish[] = [
    { name: 'control plane gRPC port', fixed: manifest.controlPlane.grpcPort, fix: `change or remove controlPlane.grpcPort in ${file}` },
    { name: 'control plane admin port', fixed: manifest.controlPlane.adminPort, fix: `change or remove controlPlane.adminPort in ${file}` },
  ];
  const names = Object.keys(manifest.workloads);
  for (const name of names) {
    const w = manifest.workloads[name]!;
    for (const [field, what] of [['appPort', 'app'], ['inboundPort', 'sidecar inbound'], ['outboundPort', 'sidecar outbound'], ['adminPort', 'sidecar admin']] as const) {
      wishes.push({ name: `${name} ${what} port (workloads.${name}.${field})`, fixed: w[field], fix: `change or remove workloads.${name}.${field} in ${file}` });
    }
  }
  const ports = await assignPorts(wishes);
  const workloads = new Map<string, WorkloadPorts>();
  names.forEach((name, i) => {
    const at = 2 + i * 4;
    workloads.set(name, { app: ports[at]!, inbound: ports[at + 1]!, outbound: ports[at + 2]!, admin: ports[at + 3]! });
  });
  return { grpc: ports[0]!, admin: ports[1]!, workloads };
}

/** The token file the sidecar reads at start (mode 0600: it is a credential until it expires). */
async function writeToken(stateDir: string, workload: string, token: string): Promise<string> {
  const dir = join(stateDir, 'sidecars', workload);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'bootstrap-token');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return file;
}

function until<T>(what: () => Promise<T | undefined>, stopped: () => boolean, intervalMs = 100): Promise<T | undefined> {
  return new Promise((resolveWait) => {
    const poll = async () => {
      if (stopped()) return resolveWait(undefined);
      const value = await what().catch(() => undefined);
      if (value !== undefined) return resolveWait(value);
      setTimeout(() => void poll(), intervalMs);
    };
    void poll();
  });
}

export async function run(argv: string[]): Promise<number> {
  const startedAt = Date.now();
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'state-dir': { type: 'string', default: '.weft' }, quiet: { type: 'boolean', default: false }, traffic: { type: 'boolean', default: false } },
  });
  if (positionals.length > 1) throw fatal(`expected at most one directory, got ${positionals.join(' ')}`, 2);
  const dir = resolve(positionals[0] ?? DEFAULT_DIR);
  const stateDir = resolve(values['state-dir']);
  const manifestFile = join(dir, MANIFEST_FILE);
  const manifest = await loadManifest(dir);
  const ports = await planPorts(manifest, manifestFile);
  const cpState = join(stateDir, 'control-plane');
  await mkdir(cpState, { recursive: true });
  const output = new ProcessOutput({
    quiet: values.quiet,
    logDir: join(stateDir, 'logs'),
    colour: process.env.NO_COLOR === undefined && (process.stdout.isTTY === true || process.env.FORCE_COLOR !== undefined),
  });
  for (const name of ['control-plane', ...Object.keys(manifest.workloads).flatMap((w) => [w, `${w}-sidecar`])]) output.add(name);
  const say = (line: string) => output.say(line);
  const processes: SupervisedProcess[] = [];
  const upFile = join(stateDir, 'up.json');

  let stopping = false;
  let stopTraffic = (): void => undefined;
  let finished: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolveDone) => (finished = resolveDone));
  const stopAll = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    const began = Date.now();
    say(`weft up: ${reason}, stopping ${processes.length} processes`);
    stopTraffic();
    const [controlPlane, ...others] = processes;
    // Workloads first (sidecars drain), the control plane last: sidecars never see it vanish first.
    await Promise.all(others.map((p) => p.stop(STOP_DEADLINE_MS)));
    await controlPlane?.stop(STOP_DEADLINE_MS);
    await rm(upFile, { force: true });
    say(`weft up: stopped in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    await output.close();
    finished(code);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`weft up: ${signal} again, killing everything now`);
      for (const p of processes) void p.stop(0);
      return;
    }
    void stopAll(signal, 0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const supervise = (process_: SupervisedProcess, critical: () => boolean) => {
    processes.push(process_);
    process_.on('crashed', (how, restart, delayMs) => {
      if (critical()) {
        say(`weft up: ${process_.spec.name} exited (${how}) before the mesh was ready`);
        void stopAll('a process failed to start', 1);
        return;
      }
      say(`weft up: ${process_.spec.name} exited unexpectedly (${how}); restart ${restart} in ${(delayMs / 1000).toFixed(1)} s`);
    });
    process_.on('started', (pid) => {
      if (process_.restarts > 0) say(`weft up: ${process_.spec.name} restarted (pid ${pid})`);
    });
    return process_;
  };

  let ready = false;
  const cpAdmin = `http://127.0.0.1:${ports.admin}`;
  const cpGrpc = `127.0.0.1:${ports.grpc}`;
  const controlPlane = supervise(
    new SupervisedProcess(
      {
        name: 'control-plane',
        argv: () => [process.execPath, WEFT_BIN, 'control-plane', '--store', `file:${dir}`, '--grpc-port', String(ports.grpc), '--admin-port', String(ports.admin), '--state-dir', cpState, '--trust-domain', TRUST_DOMAIN],
        env: {},
        cwd: stateDir,
      },
      output,
    ),
    () => !ready,
  );
  // Apps do not depend on the control plane: they start beside it. (Commands are expanded
  // before anything starts, so a bad one leaves nothing running.)
  const apps: SupervisedProcess[] = [];
  for (const [name, workload] of Object.entries(manifest.workloads)) {
    const p = ports.workloads.get(name)!;
    const appEnv = { ...workload.env, PORT: String(p.app), WEFT_OUTBOUND: `http://127.0.0.1:${p.outbound}`, WEFT_WORKLOAD: name, WEFT_HOME };
    const [command, ...args] = expandCommand(workload.command, { ...process.env, ...appEnv }, `workloads.${name}.command`);
    apps.push(supervise(new SupervisedProcess({ name, argv: () => [command === 'node' ? process.execPath : command!, ...args], env: appEnv, cwd: dir }, output), () => false));
  }
  await Promise.all([controlPlane, ...apps].map((p) => p.start()));
  say(`weft up: control plane on ${cpGrpc} (admin ${cpAdmin}), resources from ${dir}`);
  if ((await until(async () => ((await healthy(cpAdmin)) ? true : undefined), () => stopping)) === undefined) return done;

  // The control plane created its admin tokens before it listened.
  const tokenFiles = { read: join(cpState, ADMIN_TOKEN_FILES.read), write: join(cpState, ADMIN_TOKEN_FILES.write) };
  const admin = { base: cpAdmin, token: (await readFile(tokenFiles.read, 'utf8')).trim() };
  const accounts = await workloadAccounts(admin);
  const missing = Object.entries(manifest.workloads).filter(([name, w]) => !accounts.has(`${w.namespace}/${name}`));
  if (missing.length > 0) {
    say(`weft up: ${manifestFile} names workloads with no Workload resource in ${dir}: ${missing.map(([name]) => name).join(', ')}`);
    await stopAll('the manifest does not match the resources', 2);
    return done;
  }
  // Loaded here, not at the top: node-forge and jose load while the control plane starts.
  const { BootstrapTokens } = await import('../../control-plane/ca/index.js');
  const tokens = await BootstrapTokens.open(cpState);
  const trustBundle = join(cpState, 'ca', 'root-cert.pem');
  const record: { controlPlane: UpRecord['controlPlane']; trustBundle: string; dashboard: string; workloads: Record<string, UpRecord['workloads'][string]> } = {
    controlPlane: { admin: cpAdmin, grpc: cpGrpc, tokenFiles },
    trustBundle,
    // With the read token, as Jupyter prints it: the first visit logs in and drops it from the URL.
    dashboard: `${cpAdmin}/dashboard/?token=${encodeURIComponent(admin.token)}`,
    workloads: {},
  };
  for (const [name, workload] of Object.entries(manifest.workloads)) {
    const p = ports.workloads.get(name)!;
    const serviceAccount = accounts.get(`${workload.namespace}/${name}`)!;
    const identity = `spiffe://${TRUST_DOMAIN}/ns/${workload.namespace}/sa/${serviceAccount}`;
    record.workloads[name] = { identity, app: `http://127.0.0.1:${p.app}`, inbound: `127.0.0.1:${p.inbound}`, outbound: `http://127.0.0.1:${p.outbound}`, admin: `http://127.0.0.1:${p.admin}` };
    supervise(
      new SupervisedProcess(
        {
          name: `${name}-sidecar`,
          argv: async () => {
            // A fresh token at each start: a sidecar restarted after the token's lifetime still joins.
            const token = await tokens.mint({ spiffeId: identity });
            return [process.execPath, WEFT_BIN, 'proxy', '--control-plane', cpGrpc, '--workload', name, '--namespace', workload.namespace, '--service-account', serviceAccount,
              '--trust-bundle', trustBundle, '--app-port', String(p.app), '--inbound-port', String(p.inbound), '--outbound-port', String(p.outbound), '--admin-port', String(p.admin),
              '--state-dir', join(stateDir, 'sidecars', name), '--token-file', await writeToken(stateDir, name, token)];
          },
          env: { NODE_OPTIONS: SIDECAR_NODE_OPTIONS },
          cwd: stateDir,
        },
        output,
      ),
      () => false,
    );
  }
  await Promise.all(processes.slice(1 + apps.length).map((p) => p.start()));

  const names = Object.keys(manifest.workloads);
  // Ready: every sidecar ACKed what it was sent, serves with a certificate, and its app accepts;
  // and the ACKed versions held still across two polls, so endpoints announced by the last
  // sidecars to connect have reached their callers (pushes are debounced up to 200 ms).
  let previous = '';
  const readyNow = async (): Promise<true | undefined> => {
    const states = await sidecarStates(admin);
    const versions: string[] = [];
    for (const name of names) {
      const ns = manifest.workloads[name]!.namespace;
      const state = states.find((s) => s.workload === `${ns}/${name}` && s.ackedVersion !== null && s.ackedVersion === s.sentVersion && s.lastNack === null);
      const p = ports.workloads.get(name)!;
      if (state === undefined || !(await sidecarServing(`http://127.0.0.1:${p.admin}`)) || !(await accepts(p.app))) return undefined;
      versions.push(state.ackedVersion!);
    }
    const settled = versions.join(',') === previous;
    previous = versions.join(',');
    return settled ? true : undefined;
  };
  if ((await until(readyNow, () => stopping, 250)) === undefined) return done;
  ready = true;
  const upRecord: UpRecord = record;
  await writeUpRecord(upFile, upRecord);
  say(`weft: mesh ready (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
  say('');
  say(table(upRecord));
  say('');
  if (manifest.try.length > 0) {
    say('Try it:');
    for (const line of manifest.try) say(`  ${fillIn(line.command, upRecord)}    # ${line.say}`);
    say('');
  }
  say(`Dashboard: ${upRecord.dashboard}`);
  say('');
  say(`Edit the policies in ${dir} and they apply live; \`weft status\` shows every sidecar. Ctrl-C stops the mesh. (${upFile})`);
  if (values.traffic && manifest.traffic.length > 0) {
    stopTraffic = startTraffic(
      manifest.traffic.map(({ from, ...request }) => ({ ...request, via: { port: ports.workloads.get(from)!.outbound } })),
      say,
    );
  }
  return done;
}
