// `weft injector`: the mutating admission webhook (serve), and its serving certificate from the
// weft CA (issue-cert), written in the layout of a kubernetes.io/tls Secret.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { workloadId } from '../../../control-plane/api/spiffe-id.js';
import { CertificateAuthority, ENCRYPTION_KEY_ENV, forgePublicKey, loadCaDirectory, loadSharedCa, readEncryptionKey } from '../../../control-plane/ca/index.js';
import { parseStoreOption } from '../../../control-plane/cli/store-option.js';
import { stringify } from 'yaml';
import { SETTINGS_OPTIONS, SETTINGS_USAGE, settingsFromFlags } from './injection-settings.js';
import { startInjectorServer } from './injector-server.js';

export const usage = `usage: weft injector serve --tls-dir DIR [options]
       weft injector issue-cert (--ca-dir DIR | --store etcd:URL) (--out DIR | --secret NAME) [options]

serve: the mutating admission webhook that adds the weft sidecar to pods (HTTPS,
  POST /inject/namespace and /inject/pod with an admission.k8s.io/v1 AdmissionReview).
  --tls-dir DIR                 tls.crt and tls.key (a kubernetes.io/tls Secret mounted)
  --host ADDRESS                default 0.0.0.0
  --port PORT                   default 15017
${SETTINGS_USAGE}

issue-cert: issues the webhook's serving certificate from the weft CA, for the Service
  <service>.<namespace>.svc: tls.crt, tls.key and ca.crt (the root, the webhook's caBundle).
  --ca-dir DIR                  the CA (ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem)
  --store etcd:URL[,URL]        instead: the CA the control-plane replicas share in etcd
  --ca-encryption-key-file FILE with --store: the replicas' key (else $${ENCRYPTION_KEY_ENV})
  --out DIR                     write the three files there (created; the key mode 0600)
  --secret NAME                 instead: print a Secret NAME in --namespace holding them
  --service NAME                default weft-injector
  --namespace NS                default weft-system
  --trust-domain NAME           default cluster.local
  --ttl-days N                  1 to 90 (default 30; issue again and roll the Secret before)`;

function usageError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'tls-dir': { type: 'string' }, host: { type: 'string', default: '0.0.0.0' }, port: { type: 'string', default: '15017' }, ...SETTINGS_OPTIONS },
  });
  if (values['tls-dir'] === undefined) throw usageError('--tls-dir DIR is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port must be a port number, not ${JSON.stringify(values.port)}`);
  const settings = settingsFromFlags(values);
  const [certPem, keyPem] = await Promise.all([readFile(join(values['tls-dir'], 'tls.crt'), 'utf8'), readFile(join(values['tls-dir'], 'tls.key'), 'utf8')]);
  const { server, address } = await startInjectorServer({ certPem, keyPem, host: values.host, port, settings });
  // Listening for the signals before saying ready: whoever reads the line may stop it at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => void server.close(() => resolve());
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  process.stdout.write(`weft injector: ready https=${address.address}:${address.port}\n`);
  await stopped;
  return 0;
}

async function sharedCaContents(storeText: string, keyFile: string | undefined) {
  const store = parseStoreOption(storeText);
  if (store.kind !== 'etcd') throw usageError('--store must be etcd:URL[,URL...]');
  const encryptionKey = await readEncryptionKey(keyFile);
  if (encryptionKey === undefined) throw usageError(`--store needs the replicas' encryption key: --ca-encryption-key-file FILE or $${ENCRYPTION_KEY_ENV}`);
  return (await loadSharedCa({ endpoints: store.endpoints, encryptionKey })).contents;
}

async function issueCert(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'ca-dir': { type: 'string' },
      store: { type: 'string' },
      'ca-encryption-key-file': { type: 'string' },
      out: { type: 'string' },
      secret: { type: 'string' },
      service: { type: 'string', default: 'weft-injector' },
      namespace: { type: 'string', default: 'weft-system' },
      'trust-domain': { type: 'string', default: 'cluster.local' },
      'ttl-days': { type: 'string', default: '30' },
    },
  });
  if ((values['ca-dir'] === undefined) === (values.store === undefined)) throw usageError('name the CA: --ca-dir DIR or --store etcd:URL');
  if ((values.out === undefined) === (values.secret === undefined)) throw usageError('name the output: --out DIR or --secret NAME');
  const days = Number(values['ttl-days']);
  if (!Number.isInteger(days) || days < 1 || days > 90) throw usageError(`--ttl-days must be 1 to 90, not ${JSON.stringify(values['ttl-days'])}`);
  const contents = values.store === undefined ? await loadCaDirectory(values['ca-dir']!) : await sharedCaContents(values.store, values['ca-encryption-key-file']);
  const ttlMs = days * 24 * 3600_000;
  const ca = new CertificateAuthority({ trustDomain: values['trust-domain'], signing: contents.signing, trustBundlePems: contents.trustBundlePems, defaultTtlMs: ttlMs });
  const id = workloadId({ trustDomain: values['trust-domain'], namespace: values.namespace, serviceAccount: values.service });
  const dnsName = `${values.service}.${values.namespace}.svc`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const issued = ca.issueForKey(forgePublicKey(privateKey), id, ttlMs, [dnsName]);
  const files = { 'tls.crt': issued.chainPems.join(''), 'tls.key': privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ca.crt': issued.trustBundlePems.join('') };
  const summary = `weft injector: issued ${dnsName} (${issued.spiffeId}) until ${issued.notAfter.toISOString()}`;
  if (values.secret !== undefined) {
    // Straight into `kubectl apply -f -`: the key never lands in a file.
    const data = Object.fromEntries(Object.entries(files).map(([name, pem]) => [name, Buffer.from(pem).toString('base64')]));
    process.stdout.write(stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: values.secret, namespace: values.namespace }, type: 'kubernetes.io/tls', data }));
    process.stderr.write(`${summary}\n`);
    return 0;
  }
  const out = values.out!;
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'tls.key'), files['tls.key'], { mode: 0o600 });
  await writeFile(join(out, 'tls.crt'), files['tls.crt']);
  await writeFile(join(out, 'ca.crt'), files['ca.crt']);
  process.stdout.write(`${summary} in ${out}\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [tool, ...rest] = argv;
  if (tool === 'serve') return serve(rest);
  if (tool === 'issue-cert') return issueCert(rest);
  throw usageError(tool === undefined ? 'name a tool: serve or issue-cert' : `unknown tool '${tool}'`);
}
