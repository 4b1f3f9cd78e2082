// Single-use bootstrap tokens across control-plane replicas on one etcd (Debian etcd-server):
// the ledger's create-if-absent transaction lets exactly one replica spend a token, however the
// requests race, and etcd forgets a spent token with its lease.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { controlPlaneSpiffeId } from '../../control-plane/api/ca-contract.js';
import { EtcdTokenLedger, USED_TOKENS_PREFIX } from '../../control-plane/ca/token-ledger.js';
import { requestCertificate } from '../../proxy/tls/ca-client.js';
import { createWorkloadKey } from '../../proxy/tls/workload-key.js';
import { startEtcd } from '../helpers/etcd.js';
import { cleanupScope } from '../control-plane/control-plane-fixture.js';
import { tlsReplicas } from '../control-plane/control-plane-process.js';

const { defer } = cleanupScope();

describe('single-use bootstrap tokens on an etcd store', () => {
  it('lets exactly one of two ledgers claim a token id, however the claims race, under a lease to its expiry', async () => {
    const etcd = (await startEtcd(defer)).urls[0]!;
    const [a, b] = [new EtcdTokenLedger([etcd]), new EtcdTokenLedger([etcd])];
    defer(() => a.close());
    defer(() => b.close());
    for (let round = 0; round < 5; round++) {
      const jti = randomUUID();
      const expiresAt = new Date(Date.now() + 120_000);
      const claims = await Promise.all([a, b, a, b, a, b].map((ledger) => ledger.claim(jti, expiresAt)));
      expect(claims.filter((won) => won)).toHaveLength(1);
    }
    const jti = randomUUID();
    expect(await a.claim(jti, new Date(Date.now() + 30_000))).toBe(true);
    const client = new Etcd3({ hosts: [etcd] });
    try {
      const leaseId = (await client.get(`${USED_TOKENS_PREFIX}${jti}`).exec()).kvs[0]!.lease;
      const remaining = Number((await client.leaseClient.leaseTimeToLive({ ID: leaseId })).TTL);
      // exp + 60 s of clock tolerance, counted down from when it was claimed.
      expect(remaining).toBeGreaterThan(60);
      expect(remaining).toBeLessThanOrEqual(90);
    } finally {
      client.close();
    }
  });

  it('refuses at one replica a token spent at the other, and issues once for a token sent to both at once', async () => {
    const etcd = (await startEtcd(defer)).urls[0]!;
    const replicas = await tlsReplicas(`etcd:${etcd}`, defer);
    const [a, b] = [await replicas.replica('a'), await replicas.replica('b')];
    const roots = [await readFile(a.trustBundle!, 'utf8')];
    const web = 'spiffe://weft.test/ns/default/sa/web';
    const issue = async (address: string, token: string) =>
      requestCertificate({
        endpoint: { address, serverSpiffeId: controlPlaneSpiffeId('weft.test') },
        trustBundlePems: roots,
        credential: { kind: 'token', token },
        csrPem: (await createWorkloadKey(web)).csrPem,
      });
    const spent = await replicas.token('web');
    await issue(a.grpc, spent);
    await expect(issue(b.grpc, spent)).rejects.toMatchObject({ message: expect.stringContaining('TOKEN_REPLAYED') });
    for (let round = 0; round < 3; round++) {
      const token = await replicas.token('web');
      const outcomes = await Promise.allSettled([issue(a.grpc, token), issue(b.grpc, token), issue(a.grpc, token), issue(b.grpc, token)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    }
    const refusals = (a.output() + b.output()).split('\n').filter((line) => line.includes('"code":"TOKEN_REPLAYED"'));
    expect(refusals).toHaveLength(1 + 3 * 3);
  });
});
