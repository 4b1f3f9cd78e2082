// mTLS mode enforcement and peer identities in-process (proxy/tls/mesh-security.ts, the inbound
// mode and the MeshTransportSecurity class; proxy/tls/peer-identity.ts), over real TLS
// connections on loopback with certificates from a real control-plane CA.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterConfig, SidecarConfig } from '../../../proxy/config/types.js';
import { inboundMode, MeshTransportSecurity } from '../../../proxy/tls/mesh-security.js';
import { certificateHash, expectServerId, peerSpiffeId } from '../../../proxy/tls/peer-identity.js';
import type { WorkloadIdentity } from '../../../proxy/tls/workload-identity.js';
import { startCaServer, startWorkloadIdentity, type TestCaServer } from '../../helpers/ca-server.js';
import { buildLeafCertificate, forgePublicKey } from '../../../control-plane/ca/certificate-builder.js';
import { issueWorkload, rsaKeyPem, testId, throwawayCa, throwawayRoot } from '../../helpers/throwaway-ca.js';

const ORDERS = testId('orders');
const FRONTEND = testId('frontend');

let ca: TestCaServer;
let orders: WorkloadIdentity;
let frontend: WorkloadIdentity;
let security: MeshTransportSecurity;
beforeAll(async () => {
  ca = await startCaServer();
  [orders, frontend] = await Promise.all([startWorkloadIdentity(ca, ORDERS), startWorkloadIdentity(ca, FRONTEND)]);
  security = new MeshTransportSecurity(orders);
});
afterAll(async () => {
  orders?.stop();
  frontend?.stop();
  await ca?.close();
});

const config = (inbound: Partial<SidecarConfig['inbound']> | undefined, identity = true) =>
  ({ ...(inbound === undefined ? {} : { inbound }), ...(identity ? { identity: {} } : {}) }) as unknown as SidecarConfig;

/** A TLS server with `options`; resolves with the server side of the first connection and the client. */
async function handshake(serverOptions: tls.TlsOptions, clientOptions: tls.ConnectionOptions): Promise<{ server: TLSSocket; client: TLSSocket; close: () => void }> {
  const server = tls.createServer(serverOptions);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<TLSSocket>((resolve) => server.once('secureConnection', resolve));
  const client = tls.connect({ host: '127.0.0.1', port, ...clientOptions });
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', resolve);
    client.once('error', reject);
  });
  const serverSide = await accepted;
  return {
    server: serverSide,
    client,
    close: () => {
      client.destroy();
      serverSide.destroy();
      server.close();
    },
  };
}

describe('inbound mTLS mode', () => {
  it('is the configured mode, else STRICT with an identity and DISABLE without', () => {
    expect(inboundMode(config({ mtls: 'PERMISSIVE' }))).toBe('PERMISSIVE');
    expect(inboundMode(config({ mtls: 'DISABLE' }))).toBe('DISABLE');
    expect(inboundMode(config({}))).toBe('STRICT');
    expect(inboundMode(config(undefined))).toBe('STRICT');
    expect(inboundMode(config(undefined, false))).toBe('DISABLE');
    expect(inboundMode(config({ mtls: 'STRICT' }, false))).toBe('STRICT');
  });

  it.each([
    ['STRICT', true, true],
    ['STRICT', false, false],
    ['PERMISSIVE', true, true],
    ['PERMISSIVE', false, true],
    ['DISABLE', true, false],
    ['DISABLE', false, true],
  ] as const)('inbound %s takes encrypted=%s: %s', (mode, encrypted, accepted) => {
    expect(security.accepts('inbound', config({ mtls: mode }), encrypted)).toBe(accepted);
  });

  it('takes only plaintext on the outbound (app-side) listener, whatever the mode', () => {
    for (const mode of ['STRICT', 'PERMISSIVE', 'DISABLE'] as const) {
      expect(security.accepts('outbound', config({ mtls: mode }), false)).toBe(true);
      expect(security.accepts('outbound', config({ mtls: mode }), true)).toBe(false);
    }
  });
});

describe('MeshTransportSecurity', () => {
  it('offers TLS only inbound, requiring and verifying a client certificate, h2 and http/1.1', () => {
    expect(security.serverOptions('outbound')).toBeUndefined();
    expect(security.serverOptions('inbound')).toMatchObject({ requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2', 'http/1.1'] });
  });

  it('originates mTLS only to clusters that name a SPIFFE ID, and checks the server presents it', async () => {
    expect(security.clientOptions({ name: 'plain' } as unknown as ClusterConfig)).toBeUndefined();
    const frontendSecurity = new MeshTransportSecurity(frontend);
    const options = frontendSecurity.clientOptions({ name: 'orders', spiffeId: ORDERS } as unknown as ClusterConfig);
    expect(options).toBeTypeOf('function');
    const connection = await handshake(security.serverOptions('inbound')!, options!());
    try {
      expect(connection.client.alpnProtocol).toBe('h2');
      const peer = security.inboundPeer(connection.server);
      const hash = new X509Certificate(connection.server.getPeerCertificate().raw).fingerprint256.replaceAll(':', '').toLowerCase();
      expect(peer).toEqual({ principal: FRONTEND, forwardedClientCert: `By=${ORDERS};Hash=${hash};URI=${FRONTEND}` });
      expect(security.inboundPeer(connection.server)).toBe(peer);
      expect(certificateHash(connection.server.getPeerCertificate())).toBe(hash);
      expect(peerSpiffeId(connection.client)).toBe(ORDERS);
    } finally {
      connection.close();
    }
    const wrong = frontendSecurity.clientOptions({ name: 'payments', spiffeId: testId('payments') } as unknown as ClusterConfig)!;
    await expect(handshake(security.serverOptions('inbound')!, wrong())).rejects.toMatchObject({
      code: 'ERR_WEFT_PEER_IDENTITY',
      message: `the server presented ${ORDERS}, expected ${testId('payments')}`,
    });
  });

  it('sees no peer on a plaintext connection, nor on a TLS connection whose chain did not verify', async () => {
    const plain = new net.Socket();
    expect(security.inboundPeer(plain)).toBeUndefined();
    const stranger = await issueWorkload(throwawayCa().ca, FRONTEND);
    const lenient = { ...security.serverOptions('inbound')!, rejectUnauthorized: false };
    const connection = await handshake(lenient, {
      key: stranger.privateKeyPem,
      cert: stranger.chainPems.join('\n'),
      ca: ca.ca.trustBundlePems as string[],
      checkServerIdentity: () => undefined,
    });
    try {
      expect(connection.server.authorized).toBe(false);
      expect(peerSpiffeId(connection.server)).toBeUndefined();
      expect(security.inboundPeer(connection.server)).toBeUndefined();
      expect(security.inboundPeer(connection.server)).toBeUndefined();
    } finally {
      connection.close();
    }
  });

  it('sees no SPIFFE ID in a certificate that verified but whose URI SAN is no SPIFFE ID', async () => {
    const root = throwawayRoot();
    const issuer = { certificate: forge.pki.certificateFromPem(root.certificatePem), privateKey: createPrivateKey(root.privateKeyPem) };
    const leaf = (uri: string) => {
      const key = rsaKeyPem();
      return { key, cert: buildLeafCertificate({ publicKey: forgePublicKey(createPrivateKey(key)), spiffeId: uri, issuer, ttlMs: 3600_000 }) };
    };
    const connection = await handshake(
      { ...leaf(ORDERS), ca: [root.certificatePem], requestCert: true, rejectUnauthorized: true },
      { ...leaf('https://legacy.example/app'), ca: [root.certificatePem], checkServerIdentity: () => undefined },
    );
    try {
      expect(connection.server.authorized).toBe(true);
      expect(peerSpiffeId(connection.server)).toBeUndefined();
      expect(peerSpiffeId(connection.client)).toBe(ORDERS);
    } finally {
      connection.close();
    }
  });

  it('keeps a listening server on the identity\'s current certificate until told to stop', () => {
    const server = tls.createServer(security.serverOptions('inbound')!);
    let updates = 0;
    const setSecureContext = server.setSecureContext.bind(server);
    server.setSecureContext = (options) => {
      updates++;
      setSecureContext(options);
    };
    const stop = security.follow(server);
    orders.emit('updated', orders.current);
    expect(updates).toBe(1);
    stop();
    orders.emit('updated', orders.current);
    expect(updates).toBe(1);
  });
});

describe('expectServerId', () => {
  it('says when the server presented no SPIFFE ID', () => {
    const error = expectServerId(ORDERS)('host', { subjectaltname: 'DNS:orders.example' } as tls.PeerCertificate);
    expect(error).toMatchObject({ code: 'ERR_WEFT_PEER_IDENTITY', message: `the server presented no SPIFFE ID, expected ${ORDERS}` });
    expect(expectServerId(ORDERS)('host', { subjectaltname: `URI:${ORDERS}` } as tls.PeerCertificate)).toBeUndefined();
  });
});
