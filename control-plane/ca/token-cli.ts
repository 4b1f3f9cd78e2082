// `weft token create`: mints a bootstrap token for one workload, signed with the control
// plane's token key from its state directory, or from the etcd store its replicas share.
import { createPrivateKey } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEFAULT_STATE_DIR } from '../api/admin-contract.js';
import { parseStoreOption } from '../cli/store-option.js';
import { workloadId } from '../api/spiffe-id.js';
import { BootstrapTokens, DEFAULT_TOKEN_TTL_MS } from './bootstrap-token.js';
import { DEFAULT_TRUST_DOMAIN } from './certificate-authority.js';
import { ENCRYPTION_KEY_ENV, readEncryptionKey } from './sealed-secret.js';
import { loadSharedCa } from './shared-ca.js';

export { DEFAULT_STATE_DIR };

export const usage = `usage: weft token create --workload NAME [options]

Mints a bootstrap token: a short-lived JWT (audience weft-ca) with which the sidecar of
workload NAME obtains its first certificate for
spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>. Prints it on stdout.

options:
  --workload NAME          the workload (required)
  --namespace NS           default: default
  --service-account SA     default: the workload name
  --trust-domain TD        default: ${DEFAULT_TRUST_DOMAIN}
  --ttl DURATION           lifetime, e.g. 90s, 15m, 2h (1s to 24h; default ${DEFAULT_TOKEN_TTL_MS / 60_000}m)
  --reusable               good for any number of first certificates until it expires; without
                           it the token is single-use: the CA refuses it once it issued for it
  --state-dir DIR          the control plane's state directory (default ${DEFAULT_STATE_DIR})
  --store etcd:URL[,URL]   instead: the etcd store the control-plane replicas share
  --ca-encryption-key-file FILE
                           with --store: the replicas' encryption key (else $${ENCRYPTION_KEY_ENV})`;

function usageError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };

export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (match === null) throw usageError(`--ttl: expected a duration such as 90s, 15m or 2h, got '${text}'`);
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}

async function sharedTokens(storeText: string, keyFile: string | undefined): Promise<BootstrapTokens> {
  const store = parseStoreOption(storeText);
  if (store.kind !== 'etcd') throw usageError('--store must be etcd:URL[,URL...] (a file store keeps its token key in --state-dir)');
  const encryptionKey = await readEncryptionKey(keyFile);
  if (encryptionKey === undefined) throw usageError(`--store etcd: needs the replicas' encryption key: --ca-encryption-key-file FILE or $${ENCRYPTION_KEY_ENV}`);
  const shared = await loadSharedCa({ endpoints: store.endpoints, encryptionKey });
  return new BootstrapTokens(createPrivateKey(shared.tokenKeyPem));
}

export async function run(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      workload: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      'service-account': { type: 'string' },
      'trust-domain': { type: 'string', default: DEFAULT_TRUST_DOMAIN },
      ttl: { type: 'string' },
      reusable: { type: 'boolean', default: false },
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      store: { type: 'string' },
      'ca-encryption-key-file': { type: 'string' },
    },
  });
  if (positionals.length !== 1 || positionals[0] !== 'create') {
    throw usageError(`expected the subcommand 'create', got '${positionals.join(' ')}'`);
  }
  if (values.workload === undefined || values.workload === '') throw usageError('--workload is required');
  const id = workloadId({
    trustDomain: values['trust-domain'],
    namespace: values.namespace,
    serviceAccount: values['service-account'] ?? values.workload,
  });
  const ttlMs = values.ttl === undefined ? undefined : parseDuration(values.ttl);
  const tokens = values.store === undefined ? await BootstrapTokens.open(values['state-dir']) : await sharedTokens(values.store, values['ca-encryption-key-file']);
  const token = await tokens.mint({ spiffeId: id.uri, reusable: values.reusable, ...(ttlMs === undefined ? {} : { ttlMs }) });
  process.stdout.write(`${token}\n`);
  return 0;
}
