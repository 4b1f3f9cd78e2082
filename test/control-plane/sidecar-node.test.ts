import { describe, expect, it } from 'vitest';
import { parseStoreOption } from '../../control-plane/cli/store-option.js';
import { parseNode } from '../../control-plane/distribution/sidecar-identity.js';

const node = (overrides: Partial<{ id: string; workload: string; namespace: string; inboundAddress: string; adminAddress: string }> = {}) => ({
  id: 'spiffe://td.test/ns/shop/sa/orders',
  workload: 'orders',
  namespace: 'shop',
  inboundAddress: '',
  ...overrides,
});

describe('sidecar node announcements', () => {
  it('accepts a well-formed node and reads its inbound address', () => {
    expect(parseNode(node({ inboundAddress: '127.0.0.1:15006' }), undefined, 'td.test')).toEqual({
      id: 'spiffe://td.test/ns/shop/sa/orders',
      trustDomain: 'td.test',
      namespace: 'shop',
      serviceAccount: 'orders',
      workload: 'orders',
      inbound: { host: '127.0.0.1', port: 15006 },
    });
    expect(parseNode(node({ inboundAddress: '[::1]:8443' }), 'spiffe://td.test/ns/shop/sa/orders', 'td.test')).toMatchObject({ inbound: { host: '::1', port: 8443 } });
    expect(parseNode(node({ inboundAddress: '127.0.0.1:15006', adminAddress: '127.0.0.1:15000' }), undefined, 'td.test')).toMatchObject({ admin: { host: '127.0.0.1', port: 15000 } });
  });

  it.each([
    [{}, 'spiffe://td.test/ns/shop/sa/web', 'is not the authenticated identity'],
    [{ id: 'https://td.test/ns/shop/sa/orders' }, undefined, 'node.id: invalid SPIFFE ID'],
    [{ id: 'spiffe://td.test/ns/shop/sa/../x' }, undefined, 'node.id: invalid SPIFFE ID'],
    [{ id: 'spiffe://td.test/workload/orders' }, undefined, 'node.id: invalid SPIFFE ID'],
    [{ id: 'spiffe://other.test/ns/shop/sa/orders' }, undefined, 'trust domain other.test'],
    [{ id: 'spiffe://td.test/ns/Shop_1/sa/orders', namespace: 'Shop_1' }, undefined, 'resource names'],
    [{ namespace: 'default' }, undefined, 'is not the namespace of'],
    [{ workload: 'Orders!' }, undefined, 'node.workload must be a resource name'],
    [{ inboundAddress: '127.0.0.1' }, undefined, 'inbound_address must be host:port'],
    [{ inboundAddress: '127.0.0.1:70000' }, undefined, 'inbound_address must be host:port'],
    [{ inboundAddress: 'a b:80' }, undefined, 'inbound_address must be host:port'],
    [{ inboundAddress: '127.0.0.1:15006', adminAddress: '10.0.0.9:15000' }, undefined, 'admin_address must be host:port on the host of node.inbound_address'],
    [{ adminAddress: '127.0.0.1:15000' }, undefined, 'admin_address must be host:port on the host of node.inbound_address'],
    [{ inboundAddress: '127.0.0.1:15006', adminAddress: '127.0.0.1' }, undefined, 'admin_address must be host:port'],
  ])('refuses %j (authenticated as %s)', (overrides, authenticated, reason) => {
    expect(parseNode(node(overrides), authenticated, 'td.test')).toContain(reason);
  });

  it('refuses a first request without a node', () => {
    expect(parseNode(undefined, undefined, 'td.test')).toBe('the first request must carry the node');
  });
});

describe('--store option', () => {
  it('reads file and etcd stores', () => {
    expect(parseStoreOption('file:/srv/mesh')).toEqual({ kind: 'file', dir: '/srv/mesh' });
    expect(parseStoreOption('etcd:http://10.0.0.1:2379,https://10.0.0.2:2379')).toEqual({ kind: 'etcd', endpoints: ['http://10.0.0.1:2379', 'https://10.0.0.2:2379'] });
    expect(parseStoreOption('kubernetes:')).toEqual({ kind: 'kubernetes' });
    expect(parseStoreOption('kubernetes:/etc/weft/kubeconfig')).toEqual({ kind: 'kubernetes', kubeconfig: '/etc/weft/kubeconfig' });
  });

  it.each(['file:', 'etcd:', 'etcd:10.0.0.1:2379', 'etcd:http://a:1/path', 'consul:x'])('refuses %s with exit code 2', (text) => {
    expect(() => parseStoreOption(text)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});
