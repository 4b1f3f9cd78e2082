// `weft injector`: the mutating admission webhook (serve), and its serving certificate from the
// weft CA (issue-cert), written in the layout of a kubernetes.io/tls Secret.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { workloadId } from '../../../control-plane/api/spiffe-id.js';
import { CertificateAuthority, forgePublicKey, loadCaDirectory } from '../../../control-plane/ca/index.js';
import { SETTINGS_OPTIONS, SETTINGS_USAGE, settingsFromFlags } from './injection-settings.js';
import { startInjectorServer } from './injector-server.js';

export const usage = `usage: weft injector serve --tls-dir DIR [options]
       weft injector issue-cert --ca-dir DIR --out DIR [options]

serve: the mutating admission webhook that adds the weft sidecar to pods (HTTPS,
  POST /inject/namespace and /inject/pod with an admission.k8s.io/v1 AdmissionReview).
  --tls-dir DIR                 tls.crt and tls.key (a kubernetes.io/tls Secret mounted)
  --host ADDRESS                default 0.0.0.0
  --port PORT                   default 15017
${SETTINGS_USAGE}

issue-cert: issues the webhook's serving certificate from the weft CA, for the Service
  <service>.<namespace>.svc, and writes tls.crt, tls.key and ca.crt (the caBundle) to --out.
  --ca-dir DIR                  the CA (ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem)
  --out DIR                     where to write (created; the key is written mode 0600)
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
  process.stdout.write(`weft injector: ready https=${address.address}:${address.port}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => void server.close(() => resolve());
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

async function issueCert(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'ca-dir': { type: 'string' },
      out: { type: 'string' },
      service: { type: 'string', default: 'weft-injector' },
      namespace: { type: 'string', default: 'weft-system' },
      'trust-domain': { type: 'string', default: 'cluster.local' },
      'ttl-days': { type: 'string', default: '30' },
    },
  });
  if (values['ca-dir'] === undefined || values.out === undefined) throw usageError('--ca-dir DIR and --out DIR are required');
  const days = Number(values['ttl-days']);
  if (!Number.isInteger(days) || days < 1 || days > 90) throw usageError(`--ttl-days must be 1 to 90, not ${JSON.stringify(values['ttl-days'])}`);
  const contents = await loadCaDirectory(values['ca-dir']);
  const ttlMs = days * 24 * 3600_000;
  const ca = new CertificateAuthority({ trustDomain: values['trust-domain'], signing: contents.signing, trustBundlePems: contents.trustBundlePems, defaultTtlMs: ttlMs });
  const id = workloadId({ trustDomain: values['trust-domain'], namespace: values.namespace, serviceAccount: values.service });
  const dnsName = `${values.service}.${values.namespace}.svc`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const issued = ca.issueForKey(forgePublicKey(privateKey), id, ttlMs, [dnsName]);
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'tls.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  await writeFile(join(values.out, 'tls.crt'), issued.chainPems.join(''));
  await writeFile(join(values.out, 'ca.crt'), issued.trustBundlePems.join(''));
  process.stdout.write(`weft injector: issued ${dnsName} (${issued.spiffeId}) until ${issued.notAfter.toISOString()} in ${values.out}\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [tool, ...rest] = argv;
  if (tool === 'serve') return serve(rest);
  if (tool === 'issue-cert') return issueCert(rest);
  throw usageError(tool === undefined ? 'name a tool: serve or issue-cert' : `unknown tool '${tool}'`);
}
