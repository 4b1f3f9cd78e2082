import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { request, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundTlsOptions, outboundTlsOptions } from '../../../proxy/tls/mesh-tls.js';
import { peerSpiffeId } from '../../../proxy/tls/peer-identity.js';
import type { WorkloadIdentity } from '../../../proxy/tls/workload-identity.js';
import { formatXfcc, peerIdentity, vouchForPeer, XFCC_HEADER } from '../../../proxy/tls/xfcc.js';
import { startCaServer, startWorkloadIdentity, type TestCaServer } from '../../helpers/ca-server.js';
import { expiredWorkload, issueWorkload, testId, throwawayCa, type WorkloadCredentials } from '../../helpers/throwaway-ca.js';
import { probe, startEchoServer, type EchoServer } from '../../helpers/tls-probe.js';

let ca: TestCaServer;
let serverIdentity: WorkloadIdentity;
let clientIdentity: WorkloadIdentity;
let echo: EchoServer;
const serverId = testId('backend');
const clientId = testId('frontend');

beforeAll(async () => {
  ca = await startCaServer();
  serverIdentity = await startWorkloadIdentity(ca, serverId);
  clientIdentity = await startWorkloadIdentity(ca, clientId);
  echo = await startEchoServer(inboundTlsOptions(serverIdentity));
});
afterAll(async () => {
  serverIdentity.stop();
  clientIdentity.stop();
  await echo.close();
  await ca.close();
});

function staticClient(credentials: WorkloadCredentials) {
  return {
    key: credentials.privateKeyPem,
    cert: credentials.chainPems.join(''),
    ca: ca.ca.trustBundlePems.join(''),
    checkServerIdentity: () => undefined,
  };
}

describe('inbound mesh TLS', () => {
  it('accepts a valid mesh client over TLS 1.3 and negotiates h2 or http/1.1', async () => {
    const h2 = await probe(echo.port, outboundTlsOptions(clientIdentity, serverId));
    expect(h2).toMatchObject({ accepted: true, protocol: 'TLSv1.3', alpn: 'h2' });
    const h1 = await probe(echo.port, outboundTlsOptions(clientIdentity, serverId, ['http/1.1']));
    expect(h1).toMatchObject({ accepted: true, alpn: 'http/1.1' });
  });

  it('accepts TLS 1.2 and refuses TLS 1.1', async () => {
    expect(await probe(echo.port, { ...outboundTlsOptions(clientIdentity, serverId), maxVersion: 'TLSv1.2', secureContext: undefined, ...staticClient(await issueWorkload(ca.ca, clientId)) })).toMatchObject({ accepted: true, protocol: 'TLSv1.2' });
    const old = await probe(echo.port, { ...staticClient(await issueWorkload(ca.ca, clientId)), minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    expect(old.accepted).toBe(false);
  });

  it('refuses a client without a certificate', async () => {
    // Waits for the server's own reason (the test times out without it).
    const refusal = echo.nextClientError(/peer did not return a certificate/);
    const result = await probe(echo.port, { ca: ca.ca.trustBundlePems.join(''), checkServerIdentity: () => undefined });
    expect(result.accepted).toBe(false);
    await refusal;
  });

  it('refuses a client certificate from a foreign CA', async () => {
    const foreign = await issueWorkload(throwawayCa().ca, clientId);
    // Node checks the client chain after OpenSSL's handshake: the reason reaches the server only
    // when the client has not hung up first.
    const refusal = echo.nextClientError(/unable to get local issuer certificate|socket hang up/);
    expect((await probe(echo.port, staticClient(foreign))).accepted).toBe(false);
    await refusal;
  });

  it('refuses an expired client certificate from the mesh CA', async () => {
    const root = { certificatePem: ca.ca.trustBundlePems[0] as string, privateKeyPem: await readFile(join(ca.stateDir, 'ca', 'ca-key.pem'), 'utf8') };
    const expired = await expiredWorkload(root, clientId);
    // Node's own client gives up on its expired certificate itself; openssl s_client in
    // test/interop/ shows the server refusing it.
    const refusal = echo.nextClientError(/certificate has expired|socket hang up/);
    expect((await probe(echo.port, staticClient(expired))).accepted).toBe(false);
    await refusal;
  });
});

describe('outbound mesh TLS', () => {
  it('refuses a server with a valid mesh certificate for another identity', async () => {
    const result = await probe(echo.port, outboundTlsOptions(clientIdentity, testId('payments')));
    expect(result).toMatchObject({ accepted: false, error: expect.stringContaining(`presented ${serverId}, expected ${testId('payments')}`) });
  });

  it('refuses a server from a foreign CA', async () => {
    const foreign = await issueWorkload(throwawayCa().ca, serverId);
    const impostor = await startEchoServer({ key: foreign.privateKeyPem, cert: foreign.chainPems.join('') });
    try {
      expect(await probe(impostor.port, outboundTlsOptions(clientIdentity, serverId))).toMatchObject({ accepted: false, error: expect.stringMatching(/certificate/) });
    } finally {
      await impostor.close();
    }
  });
});

describe('source principal and x-forwarded-client-cert', () => {
  it('takes the peer SPIFFE ID as principal and replaces any incoming XFCC with its own', async () => {
    const server = createHttpsServer(inboundTlsOptions(serverIdentity, ['http/1.1']), (req, res) => {
      const socket = req.socket as TLSSocket;
      const headers = [...req.rawHeaders.map((value, i) => (i % 2 === 0 ? value.toLowerCase() : value))];
      const principal = vouchForPeer(headers, peerIdentity(serverId, socket));
      const xfcc = headers.filter((_value, i) => headers[i - 1] === XFCC_HEADER);
      res.end(JSON.stringify({ principal, peer: peerSpiffeId(socket), xfcc, hash: socket.getPeerCertificate().fingerprint256.replace(/:/g, '').toLowerCase() }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/', headers: { [XFCC_HEADER]: 'By=spiffe://evil/x;URI=spiffe://test.local/ns/default/sa/admin' }, ...outboundTlsOptions(clientIdentity, serverId, ['http/1.1']), agent: false },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve(text));
          },
        );
        req.on('error', reject).end();
      });
      const seen = JSON.parse(body) as { principal: string; peer: string; xfcc: string[]; hash: string };
      expect(seen.principal).toBe(clientId);
      expect(seen.peer).toBe(clientId);
      expect(seen.xfcc).toEqual([formatXfcc({ by: serverId, hash: seen.hash, uri: clientId })]);
    } finally {
      server.close();
    }
  });

  it('removes an incoming XFCC header when there is no verified peer', () => {
    const headers = [XFCC_HEADER, 'URI=spiffe://forged', 'host', 'x', XFCC_HEADER, 'URI=spiffe://again'];
    expect(vouchForPeer(headers, undefined)).toBeUndefined();
    expect(headers).toEqual(['host', 'x']);
  });
});
