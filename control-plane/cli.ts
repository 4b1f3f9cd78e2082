// `weft control-plane`: runs the control plane until SIGINT/SIGTERM.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { addCertificateIssuer, CaError, controlPlaneServerCredentials, DEFAULT_TRUST_DOMAIN, ENCRYPTION_KEY_ENV, kubernetesTokenReview, openCertificateAuthority, readEncryptionKey, watchCaDirectory, type CaOptions } from './ca/index.js';
import { DEFAULT_STATE_DIR } from './ca/token-cli.js';
import { controlPlaneSpiffeId } from './api/ca-contract.js';
import { validateTrustDomain } from './api/spiffe-id.js';
import { AdminTokens } from './admin/admin-tokens.js';
import { userError } from './cli/admin-client.js';
import { loadKubeConfig, parseKubernetesTarget } from './cli/kube-config.js';
import { parseStoreOption, type StoreChoice } from './cli/store-option.js';
import { startControlPlane } from './control-plane.js';
import { RESYNC_HOLD } from './distribution/discovery-service.js';
import { EtcdEndpointDirectory } from './distribution/etcd-endpoint-directory.js';
import { tlsPeerIdentity, type PeerSpiffeId } from './distribution/sidecar-identity.js';
import { ChangeRefusedError, formatProblem } from './errors.js';
import { policyChecker } from './resources/rego-policy-check.js';
import { EtcdStore } from './store/etcd-store.js';
import { FileStore } from './store/file-store.js';
import { kubernetesStore } from './store/kubernetes-store.js';

export const usage = `usage: weft control-plane [options]

  --store file:DIR          resources from a watched directory of YAML files (default file:./mesh)
  --store etcd:URL[,URL]    resources in etcd v3, and the CA, shared by several replicas
  --store kubernetes:[FILE] resources as weft custom resources in the Kubernetes API, through a
                            kubeconfig FILE, else the pod's service account (or $KUBECONFIG)
  --ca-encryption-key-file FILE
                            with an etcd store: the key (32 random bytes in base64, mode 0600;
                            else $${ENCRYPTION_KEY_ENV}) that seals the CA and token keys in etcd;
                            every replica gets the same one (openssl rand -base64 32)
  --host HOST               address of the gRPC port: discovery and the CA (default 127.0.0.1)
  --grpc-port PORT          gRPC port (default 15010; 0 picks a free one)
  --admin-port PORT         admin API port on 127.0.0.1 (default 15014; 0 picks a free one)
  --state-dir DIR           the control plane's state, its CA and the admin API's tokens
                            (admin-read.token, admin-write.token) included (default ${DEFAULT_STATE_DIR})
  --trust-domain NAME       SPIFFE trust domain of the mesh (default ${DEFAULT_TRUST_DOMAIN})
  --plugin-ca DIR           sign with an existing CA (ca-cert.pem, ca-key.pem, cert-chain.pem,
                            root-cert.pem) instead of the one created in the state directory
                            (with an etcd store: the CA the first replica stores there)
  --token-review kubernetes:[FILE]
                            also accept Kubernetes service-account tokens with audience weft-ca
                            (the injector mounts them) as bootstrap credentials, checked with the
                            API's TokenReview, through a kubeconfig FILE, else the pod's service
                            account (or $KUBECONFIG): sa <name> in namespace <ns> gets
                            spiffe://<trust domain>/ns/<ns>/sa/<name>
  --plaintext               no TLS and no CA on the gRPC port, sidecars trusted by the identity they
                            announce: for tests and benchmarks, allowed on loopback only
  --debounce-ms MS          quiet time before a push (default 30; pushes wait at most 200)
  --resync-hold-ms MS       after a start, how long sidecars that reconnect keep their snapshot
                            while the others reconnect and announce their endpoints
                            (default ${RESYNC_HOLD.afterStartMs}; 0..60000)`;

function portOption(name: string, text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw userError(`--${name} must be a port number, not ${JSON.stringify(text)}`, 2);
  return port;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

interface GrpcSecurity {
  readonly credentials: ServerCredentials;
  /** The roots sidecars must trust (`weft proxy --trust-bundle`); absent in plaintext. */
  readonly trustBundleFile?: string;
  readonly peerIdentity?: PeerSpiffeId;
  readonly addServices?: (server: Server) => void;
  readonly close: () => void;
}

interface SecurityValues {
  plaintext?: boolean;
  'plugin-ca'?: string;
  'ca-encryption-key-file'?: string;
  'state-dir': string;
  'trust-domain': string;
  'token-review'?: string;
  host: string;
}

/** With an etcd store the replicas share the CA there, sealed with the key every replica is given. */
async function sharedCaOption(values: SecurityValues, store: StoreChoice): Promise<Pick<CaOptions, 'shared'>> {
  const keyFile = values['ca-encryption-key-file'];
  if (store.kind !== 'etcd') {
    if (keyFile !== undefined) throw userError('--ca-encryption-key-file applies to an etcd store only (--store etcd:URL)', 2);
    return {};
  }
  const encryptionKey = await readEncryptionKey(keyFile === undefined ? undefined : resolve(keyFile));
  if (encryptionKey === undefined) {
    throw userError(`--store etcd: needs the key that seals the shared CA: --ca-encryption-key-file FILE or $${ENCRYPTION_KEY_ENV} (32 random bytes in base64, the same for every replica: openssl rand -base64 32)`, 2);
  }
  return { shared: { endpoints: store.endpoints, encryptionKey } };
}

/** mTLS with the control plane's CA (which also serves its issuing API), or loopback plaintext. */
async function grpcSecurity(values: SecurityValues, store: StoreChoice, storeText: string): Promise<GrpcSecurity> {
  const tokenReview = values['token-review'] === undefined ? undefined : parseKubernetesTarget(values['token-review']);
  if (tokenReview === undefined && values['token-review'] !== undefined) throw userError(`--token-review must be kubernetes:[KUBECONFIG], not ${JSON.stringify(values['token-review'])}`, 2);
  if (values.plaintext === true) {
    if (tokenReview !== undefined) throw userError('--token-review needs the CA, which --plaintext turns off', 2);
    if (!isLoopback(values.host)) throw userError(`--plaintext is allowed on loopback only, not on ${values.host}`, 2);
    return { credentials: ServerCredentials.createInsecure(), close: () => undefined };
  }
  const shared = await sharedCaOption(values, store);
  let opened;
  try {
    opened = await openCertificateAuthority({
      stateDir: values['state-dir'],
      trustDomain: values['trust-domain'],
      ...(values['plugin-ca'] === undefined ? {} : { pluginCaDir: values['plugin-ca'] }),
      ...shared,
    });
  } catch (error) {
    if (error instanceof CaError || shared.shared === undefined) throw error;
    throw userError(`cannot read the shared CA from the store ${storeText}: ${(error as Error).message}`, 1);
  }
  if (tokenReview !== undefined) {
    const config = await loadKubeConfig(tokenReview).catch((error: Error) => {
      opened.ledger.close();
      throw userError(`--token-review ${values['token-review']}: cannot load the Kubernetes client config: ${error.message}`, 2);
    });
    opened.verifiers.register(await kubernetesTokenReview(config, { trustDomain: values['trust-domain'] }));
  }
  // Sidecars need the roots as a file: the one on disk, or a copy of the shared bundle.
  let trustBundleFile = join(values['plugin-ca'] ?? join(values['state-dir'], 'ca'), 'root-cert.pem');
  if (shared.shared !== undefined) {
    trustBundleFile = join(values['state-dir'], 'trust-bundle.pem');
    await mkdir(values['state-dir'], { recursive: true });
    await writeFile(trustBundleFile, opened.ca.trustBundlePems.join(''));
  }
  const tls = controlPlaneServerCredentials(opened.ca);
  // A CA of its own directory follows edits of it (root rotation); a shared CA lives in the store.
  const caWatch = shared.shared === undefined ? watchCaDirectory(values['plugin-ca'] ?? join(values['state-dir'], 'ca'), opened.ca, (line) => process.stderr.write(`${line}\n`)) : undefined;
  return {
    credentials: tls.credentials,
    trustBundleFile,
    peerIdentity: tlsPeerIdentity,
    addServices: (server) => addCertificateIssuer(server, opened),
    close: () => {
      caWatch?.close();
      tls.close();
      opened.ledger.close();
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      store: { type: 'string', default: 'file:./mesh' },
      host: { type: 'string', default: '127.0.0.1' },
      'grpc-port': { type: 'string', default: '15010' },
      'admin-port': { type: 'string', default: '15014' },
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      'trust-domain': { type: 'string', default: DEFAULT_TRUST_DOMAIN },
      'plugin-ca': { type: 'string' },
      'ca-encryption-key-file': { type: 'string' },
      'token-review': { type: 'string' },
      plaintext: { type: 'boolean' },
      'debounce-ms': { type: 'string', default: '30' },
      'resync-hold-ms': { type: 'string', default: String(RESYNC_HOLD.afterStartMs) },
    },
    allowPositionals: false,
  });
  const storeChoice = parseStoreOption(values.store);
  validateTrustDomain(values['trust-domain']);
  const debounce = Number(values['debounce-ms']);
  if (!Number.isInteger(debounce) || debounce < 0 || debounce > 10_000) throw userError('--debounce-ms must be 0..10000', 2);
  const holdMs = Number(values['resync-hold-ms']);
  if (!Number.isInteger(holdMs) || holdMs < 0 || holdMs > 60_000) throw userError('--resync-hold-ms must be 0..60000', 2);
  const grpcPort = portOption('grpc-port', values['grpc-port']);
  const adminPort = portOption('admin-port', values['admin-port']);
  const stateDir = resolve(values['state-dir']);
  const adminTokens = await AdminTokens.open(stateDir);
  const security = await grpcSecurity({ ...values, 'state-dir': stateDir }, storeChoice, values.store);
  const grpc = { host: values.host, port: grpcPort, ...security };
  const log = (line: string) => process.stderr.write(`${line}\n`);

  let running;
  try {
    running = await startControlPlane({
      ...(storeChoice.kind === 'file'
        ? { store: new FileStore(storeChoice.dir, policyChecker) }
        : storeChoice.kind === 'kubernetes'
          ? { store: await kubernetesStore(storeChoice, policyChecker) }
          : { store: new EtcdStore(storeChoice.endpoints, policyChecker), endpoints: new EtcdEndpointDirectory(storeChoice.endpoints, log) }),
      trustDomain: values['trust-domain'],
      grpc,
      admin: { host: '127.0.0.1', port: adminPort, tokens: adminTokens, ...(security.trustBundleFile === undefined ? {} : { trustBundleFile: security.trustBundleFile }) },
      debounceQuietMs: debounce,
      resyncHold: { afterConnectMs: Math.min(RESYNC_HOLD.afterConnectMs, holdMs), afterStartMs: holdMs },
      log,
    });
  } catch (error) {
    security.close();
    if (error instanceof ChangeRefusedError) {
      throw userError(`the resources in ${values.store} do not validate; nothing was started:\n${error.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, 2);
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw userError(`a port is already in use (${(error as Error).message}); pick others with --grpc-port / --admin-port`, 2);
    if (typeof (error as Error).message === 'string' && (error as Error).message.includes('No address added out of total')) {
      throw userError(`cannot listen on ${grpc.host}:${grpc.port} (in use?); pick another with --grpc-port`, 2);
    }
    if (storeChoice.kind !== 'file') throw userError(`cannot read the store ${values.store}: ${(error as Error).message}`, 1);
    throw error;
  }
  // Listening for the signals before saying where it runs: whoever reads that may stop it at once.
  const stopped = new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await mkdir(stateDir, { recursive: true });
  const record = join(stateDir, 'control-plane.json');
  const identity = values.plaintext === true ? null : controlPlaneSpiffeId(values['trust-domain']);
  await writeFile(record, JSON.stringify({ pid: process.pid, grpc: running.grpcAddress, admin: running.adminUrl, store: values.store, tls: identity !== null, spiffeId: identity, trustBundle: security.trustBundleFile ?? null, adminTokens: adminTokens.files }, null, 2) + '\n');
  process.stdout.write(`weft control-plane: discovery on ${running.grpcAddress}, admin on ${running.adminUrl}, store ${values.store}\n`);
  process.stdout.write(`weft control-plane: admin tokens (Authorization: Bearer): ${adminTokens.files.write} (write), ${adminTokens.files.read} (read)\n`);

  await stopped;
  await running.close();
  security.close();
  await rm(record, { force: true });
  return 0;
}
