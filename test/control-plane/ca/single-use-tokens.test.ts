// Bootstrap tokens are single-use by `jti` unless minted reusable: a replay is refused and
// audited; the ledger of used tokens survives a restart and forgets tokens once they expire.
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTokenLedger, USED_TOKENS_FILE } from '../../../control-plane/ca/token-ledger.js';
import { requestCertificate, type CaCredential } from '../../../proxy/tls/ca-client.js';
import { createWorkloadKey } from '../../../proxy/tls/workload-key.js';
import { startCaServer, type TestCaServer } from '../../helpers/ca-server.js';
import { testId } from '../../helpers/throwaway-ca.js';
import { runWeft } from '../../helpers/weft-cli.js';

let server: TestCaServer;
const web = testId('web');

beforeAll(async () => {
  server = await startCaServer();
});
afterAll(() => server.close());

async function issue(token: string, spiffeId = web) {
  const key = await createWorkloadKey(spiffeId);
  const credential: CaCredential = { kind: 'token', token };
  return requestCertificate({ endpoint: server.endpoint, trustBundlePems: server.ca.trustBundlePems, credential, csrPem: key.csrPem });
}

describe('single-use bootstrap tokens', () => {
  it('issues once for a token and refuses its replay with TOKEN_REPLAYED, audited with the token id', async () => {
    const token = await server.tokens.mint({ spiffeId: web });
    const { jti } = decodeJwt(token);
    await issue(token);
    await expect(issue(token)).rejects.toMatchObject({ grpcCode: status.UNAUTHENTICATED, message: expect.stringContaining(`TOKEN_REPLAYED: the bootstrap token ${jti} was used before`) });
    expect(server.audit.at(-1)).toMatchObject({ event: 'certificate.refused', credential: 'bootstrap-token', spiffeId: web, tokenId: jti, code: 'TOKEN_REPLAYED' });
  });

  it('issues for exactly one of several requests sent at once with the same token', async () => {
    const token = await server.tokens.mint({ spiffeId: web });
    const outcomes = await Promise.allSettled([issue(token), issue(token), issue(token), issue(token)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const refused of outcomes.filter((o) => o.status === 'rejected')) expect((refused as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringContaining('TOKEN_REPLAYED') });
  });

  it('does not spend a token on a refused CSR', async () => {
    const token = await server.tokens.mint({ spiffeId: web });
    await expect(issue(token, testId('admin'))).rejects.toMatchObject({ grpcCode: status.PERMISSION_DENIED });
    await expect(issue(token)).resolves.toMatchObject({ certificateChainPem: expect.any(Array) });
  });

  it('lets a token minted reusable issue again until it expires', async () => {
    const token = await server.tokens.mint({ spiffeId: web, reusable: true });
    await issue(token);
    await issue(token);
    expect(server.audit.at(-1)).toMatchObject({ event: 'certificate.issued', tokenId: decodeJwt(token).jti });
  });

  it('keeps the used tokens across a restart (0600 file) and forgets them once expired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-ledger-'));
    const ledger = await LocalTokenLedger.open(dir);
    expect(await ledger.claim('live', new Date(Date.now() + 600_000))).toBe(true);
    expect(await ledger.claim('long-expired', new Date(Date.now() - 3600_000))).toBe(true);
    const reopened = await LocalTokenLedger.open(dir);
    expect(await reopened.claim('live', new Date(Date.now() + 600_000))).toBe(false);
    // The claim above pruned the expired one; the next save no longer lists it.
    expect(await reopened.claim('other', new Date(Date.now() + 600_000))).toBe(true);
    expect(Object.keys(JSON.parse(await readFile(join(dir, USED_TOKENS_FILE), 'utf8')) as object).sort()).toEqual(['live', 'other']);
    expect(await reopened.claim('long-expired', new Date(Date.now() + 600_000))).toBe(true);
    expect((await stat(join(dir, USED_TOKENS_FILE))).mode & 0o777).toBe(0o600);
  });

  it('`weft token create` mints single-use tokens, and reusable ones with --reusable', async () => {
    const state = await mkdtemp(join(tmpdir(), 'weft-token-'));
    const single = await runWeft(['token', 'create', '--workload', 'web', '--state-dir', state]);
    const reusable = await runWeft(['token', 'create', '--workload', 'web', '--reusable', '--state-dir', state]);
    expect(decodeJwt(single.stdout.trim()).weft_reusable).toBeUndefined();
    expect(decodeJwt(reusable.stdout.trim()).weft_reusable).toBe(true);
  });
});
