// `weft injector issue-cert --store etcd:` against a real etcd (Debian's etcd-server): the
// webhook's certificate comes from the CA the control-plane replicas share there, and chains to
// the root their sidecars trust.
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadOrCreateSharedCa } from '../../control-plane/ca/shared-ca.js';
import { startEtcd } from '../helpers/etcd.js';
import { runWeft } from '../helpers/weft-cli.js';
import { cleanupScope } from '../control-plane/control-plane-fixture.js';

const { defer } = cleanupScope();

describe('weft injector issue-cert --store etcd:', () => {
  it('issues from the shared CA, and refuses without the sealing key', async () => {
    const etcd = (await startEtcd(defer)).urls[0]!;
    const encryptionKey = randomBytes(32);
    const shared = await loadOrCreateSharedCa({ endpoints: [etcd], encryptionKey });
    const keyFile = join(await mkdtemp(join(tmpdir(), 'weft-key-')), 'ca-encryption.key');
    await writeFile(keyFile, encryptionKey.toString('base64'), { mode: 0o600 });

    const printed = await runWeft(['injector', 'issue-cert', '--store', `etcd:${etcd}`, '--ca-encryption-key-file', keyFile, '--secret', 'weft-injector-tls']);
    expect(printed.code, printed.stderr).toBe(0);
    const data = (parseAllDocuments(printed.stdout)[0]!.toJS() as { data: Record<string, string> }).data;
    const pem = (name: string) => Buffer.from(data[name]!, 'base64').toString('utf8');
    expect(pem('ca.crt')).toBe(shared.contents.trustBundlePems.join(''));
    expect(new X509Certificate(pem('tls.crt')).checkIssued(new X509Certificate(shared.contents.signing.certificatePem))).toBe(true);

    const keyless = await runWeft(['injector', 'issue-cert', '--store', `etcd:${etcd}`, '--secret', 'weft-injector-tls'], { env: { WEFT_CA_ENCRYPTION_KEY: '' } });
    expect(keyless.code).toBe(2);
    expect(keyless.stdout).toBe('');
  });
});
