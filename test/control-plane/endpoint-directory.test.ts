// Sharing endpoints between replicas: merging, the published document and its validation (what
// another replica wrote in etcd is untrusted input), and how the discovery service uses a
// directory (an in-memory one here; the etcd one is in test/interop/endpoints-etcd.test.ts).
import { describe, expect, it } from 'vitest';
import { encodeEndpoints, LocalEndpointDirectory, mergeEndpoints, parseEndpoints, type AnnouncedEndpoint, type EndpointDirectory } from '../../control-plane/distribution/endpoint-directory.js';
import { cleanupScope, controlPlaneOn, sidecar, until } from './control-plane-fixture.js';
import { meshDirectory } from './mesh-fixture.js';

const at = (workload: string, address: string, port: number, namespace = 'default'): AnnouncedEndpoint => ({ namespace, workload, address, port });

describe('mergeEndpoints', () => {
  it('adds the endpoints of other replicas to the local ones, by namespace and workload', () => {
    const index = mergeEndpoints([at('web', '10.0.0.1', 15006)], [[at('orders', '10.0.0.2', 15006)], [at('orders', '10.0.0.3', 15006), at('orders', '10.0.0.4', 15006, 'shop')]]);
    expect(Object.fromEntries(index)).toEqual({
      'default/web': [{ host: '10.0.0.1', port: 15006 }],
      'default/orders': [{ host: '10.0.0.2', port: 15006 }, { host: '10.0.0.3', port: 15006 }],
      'shop/orders': [{ host: '10.0.0.4', port: 15006 }],
    });
  });

  it('lists an address announced on two replicas once', () => {
    // A sidecar that moved from one replica to another while the first one's document is still there.
    const index = mergeEndpoints([at('orders', '10.0.0.2', 15006)], [[at('orders', '10.0.0.2', 15006), at('orders', '10.0.0.2', 15007)]]);
    expect(index.get('default/orders')).toEqual([{ host: '10.0.0.2', port: 15006 }, { host: '10.0.0.2', port: 15007 }]);
  });

  it('is only the local endpoints with a single-process directory', () => {
    expect(Object.fromEntries(new LocalEndpointDirectory().index([at('web', '127.0.0.1', 1)]))).toEqual({ 'default/web': [{ host: '127.0.0.1', port: 1 }] });
  });
});

describe('the published document', () => {
  it('is the same text for the same set in any order, and reads back', () => {
    const set = [at('web', '10.0.0.1', 2), at('orders', '10.0.0.2', 1), at('web', '10.0.0.1', 1)];
    const text = encodeEndpoints(set);
    expect(encodeEndpoints([...set].reverse())).toBe(text);
    expect(parseEndpoints(text)).toEqual([at('orders', '10.0.0.2', 1), at('web', '10.0.0.1', 1), at('web', '10.0.0.1', 2)]);
    expect(parseEndpoints('[]')).toEqual([]);
  });

  it('refuses what is not a list of well-formed endpoints, saying why', () => {
    expect(parseEndpoints('{"not json')).toBe('not JSON');
    expect(parseEndpoints('{"endpoints":[]}')).toBe('/ must be array');
    expect(parseEndpoints(JSON.stringify([{ ...at('web', '10.0.0.1', 1), port: 70000 }]))).toBe('/0/port must be <= 65535');
    expect(parseEndpoints(JSON.stringify([{ ...at('web', '10.0.0.1', 1), port: '1' }]))).toBe('/0/port must be integer');
    expect(parseEndpoints(JSON.stringify([at('Web!', '10.0.0.1', 1)]))).toBe('/0/workload must match pattern "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"');
    expect(parseEndpoints(JSON.stringify([at('web', '10.0.0.1/evil path', 1)]))).toBe('/0/address must match pattern "^[0-9A-Za-z.:-]+$"');
    expect(parseEndpoints(JSON.stringify([{ ...at('web', '10.0.0.1', 1), extra: true }]))).toBe('/0 must NOT have additional properties');
    expect(parseEndpoints(JSON.stringify([{ workload: 'web', address: 'a', port: 1 }]))).toBe("/0 must have required property 'namespace'");
  });
});

/** Another replica's endpoints set by the test. */
class InMemoryDirectory implements EndpointDirectory {
  published: AnnouncedEndpoint[][] = [];
  remote: AnnouncedEndpoint[] = [];
  changed: () => void = () => undefined;
  async start(changed: () => void): Promise<void> {
    this.changed = changed;
  }
  publish(local: readonly AnnouncedEndpoint[]): void {
    this.published.push([...local]);
  }
  index(local: readonly AnnouncedEndpoint[]) {
    return mergeEndpoints(local, [this.remote]);
  }
  async close(): Promise<void> {}
}

describe('the discovery service with an endpoint directory', () => {
  const { defer, started } = cleanupScope();

  it("publishes its sidecars' endpoints and pushes the other replicas' when they change", async () => {
    const directory = new InMemoryDirectory();
    const cp = await controlPlaneOn(await meshDirectory(), { endpoints: directory });
    defer(() => cp.close());
    started(sidecar(cp.grpcAddress, 'orders', { node: { id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default', inboundAddress: '127.0.0.1:15006' } }));
    const web = started(sidecar(cp.grpcAddress, 'web'));
    const ordersEndpoints = () => web.holder.current()?.snapshot.services.get('orders')?.spec.endpoints ?? [];
    await until(() => ordersEndpoints().length === 1, 'the local orders endpoint');
    await until(() => directory.published.length > 0, 'the next push to publish the local endpoints');
    expect(directory.published.at(-1)).toEqual([at('orders', '127.0.0.1', 15006)]);

    directory.remote = [at('orders', '127.0.0.2', 15006)];
    directory.changed();
    await until(() => ordersEndpoints().length === 2, "the other replica's orders endpoint");
    expect(ordersEndpoints()).toEqual([{ host: '127.0.0.1', port: 15006 }, { host: '127.0.0.2', port: 15006 }]);
    directory.remote = [];
    directory.changed();
    await until(() => ordersEndpoints().length === 1, "the other replica's endpoint to go");
  });
});
