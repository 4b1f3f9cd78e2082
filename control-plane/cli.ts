// `weft control-plane`: runs the control plane until SIGINT/SIGTERM.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ServerCredentials } from '@grpc/grpc-js';
import { userError } from './cli/admin-client.js';
import { parseStoreOption } from './cli/store-option.js';
import { startControlPlane } from './control-plane.js';
import { tlsPeerIdentity } from './distribution/sidecar-identity.js';
import { ChangeRefusedError, formatProblem } from './errors.js';
import { policyChecker } from './resources/rego-policy-check.js';
import { FileStore } from './store/file-store.js';

export const usage = `usage: weft control-plane [options]

  --store file:DIR          resources from a watched directory of YAML files (default file:./mesh)
  --store etcd:URL[,URL]    resources in etcd v3 (shared by several replicas)
  --host HOST               address of the discovery (gRPC) listener (default 127.0.0.1)
  --grpc-port PORT          discovery port (default 15010; 0 picks a free one)
  --admin-port PORT         admin API port on 127.0.0.1 (default 15014; 0 picks a free one)
  --state-dir DIR           where the control plane keeps its state (default .weft)
  --trust-domain NAME       SPIFFE trust domain of the mesh (default weft.local)
  --tls-cert FILE --tls-key FILE --tls-ca FILE
                            serve discovery over mutual TLS; sidecars are identified by the
                            SPIFFE ID in their client certificate (required off loopback)
  --debounce-ms MS          quiet time before a push (default 30; pushes wait at most 200)`;

function portOption(name: string, text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw userError(`--${name} must be a port number, not ${JSON.stringify(text)}`, 2);
  return port;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

async function credentialsFrom(values: { 'tls-cert'?: string; 'tls-key'?: string; 'tls-ca'?: string }, host: string) {
  const given = [values['tls-cert'], values['tls-key'], values['tls-ca']].filter((v) => v !== undefined).length;
  if (given === 0) {
    if (!isLoopback(host)) throw userError(`discovery on ${host} needs --tls-cert, --tls-key and --tls-ca (plaintext is allowed on loopback only)`, 2);
    return { credentials: ServerCredentials.createInsecure() };
  }
  if (given !== 3) throw userError('--tls-cert, --tls-key and --tls-ca go together', 2);
  const read = (flag: string, path: string) => readFile(path).catch((error: Error) => Promise.reject(userError(`--${flag} ${path}: ${error.message}`, 2)));
  const [cert, key, ca] = await Promise.all([read('tls-cert', values['tls-cert']!), read('tls-key', values['tls-key']!), read('tls-ca', values['tls-ca']!)]);
  return { credentials: ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true), peerIdentity: tlsPeerIdentity };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      store: { type: 'string', default: 'file:./mesh' },
      host: { type: 'string', default: '127.0.0.1' },
      'grpc-port': { type: 'string', default: '15010' },
      'admin-port': { type: 'string', default: '15014' },
      'state-dir': { type: 'string', default: '.weft' },
      'trust-domain': { type: 'string', default: 'weft.local' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'debounce-ms': { type: 'string', default: '30' },
    },
    allowPositionals: false,
  });
  const store = parseStoreOption(values.store);
  if (store.kind === 'etcd') throw userError('the etcd store is not available in this build; use --store file:DIR', 2);
  if (!/^[a-z0-9.-]{1,255}$/.test(values['trust-domain'])) throw userError('--trust-domain must be a DNS name', 2);
  const debounce = Number(values['debounce-ms']);
  if (!Number.isInteger(debounce) || debounce < 0 || debounce > 10_000) throw userError('--debounce-ms must be 0..10000', 2);
  const grpc = { host: values.host, port: portOption('grpc-port', values['grpc-port']), ...(await credentialsFrom(values, values.host)) };
  const stateDir = resolve(values['state-dir']);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  let running;
  try {
    running = await startControlPlane({
      store: new FileStore(store.dir, policyChecker),
      trustDomain: values['trust-domain'],
      grpc,
      admin: { host: '127.0.0.1', port: portOption('admin-port', values['admin-port']) },
      debounceQuietMs: debounce,
      log,
    });
  } catch (error) {
    if (error instanceof ChangeRefusedError) {
      throw userError(`the resources in ${store.dir} do not validate; nothing was started:\n${error.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, 2);
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw userError(`a port is already in use (${(error as Error).message}); pick others with --grpc-port / --admin-port`, 2);
    if (typeof (error as Error).message === 'string' && (error as Error).message.includes('No address added out of total')) {
      throw userError(`cannot listen on ${grpc.host}:${grpc.port} (in use?); pick another with --grpc-port`, 2);
    }
    throw error;
  }
  await mkdir(stateDir, { recursive: true });
  const record = join(stateDir, 'control-plane.json');
  await writeFile(record, JSON.stringify({ pid: process.pid, grpc: running.grpcAddress, admin: running.adminUrl, store: values.store }, null, 2) + '\n');
  process.stdout.write(`weft control-plane: discovery on ${running.grpcAddress}, admin on ${running.adminUrl}, store ${values.store}\n`);

  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  await rm(record, { force: true });
  return 0;
}
