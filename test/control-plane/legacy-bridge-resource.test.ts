import { describe, expect, it } from 'vitest';
import { decodeResource } from '../../control-plane/api/resource-codec.js';

const bridge = (spec: Record<string, unknown>) => ({ apiVersion: 'weft.dev/v1alpha1', kind: 'LegacyBridge', metadata: { name: 'crm' }, spec });

describe('LegacyBridge resource', () => {
  it('is accepted with its defaults filled', () => {
    const result = decodeResource(
      bridge({
        hosts: ['crm.legacy'],
        protocol: 'soap',
        soap: { wsdl: 'http://crm.legacy:8080/crm?wsdl', faultStatus: { '*.NotFound': 404 }, usernameToken: { username: 'bridge', passwordEnv: 'CRM_PASSWORD' } },
        routes: [{ method: 'GET', path: '/v1/customers/{id}', operation: 'GetCustomer', params: { id: 'customer_id' } }],
      }),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.resource.spec).toMatchObject({
      maxRequestBytes: 1048576,
      soap: { maxResponseBytes: 4194304, usernameToken: { passwordType: 'PasswordDigest' } },
    });
  });

  it('refuses a bad spec with every problem at once', () => {
    const result = decodeResource(
      bridge({
        protocol: 'soap',
        routes: [{ method: 'TRACE', path: 'v1/x', operation: 'X' }],
        soap: { wsdl: 'x', faultStatus: { 'Client.NotFound': 200 }, password: 'inline' },
      }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(['spec.routes[0].method', 'spec.routes[0].path', 'spec.soap.faultStatus["Client.NotFound"]', 'spec.soap.password']),
    );
    const noSoap = decodeResource(bridge({ protocol: 'soap' }));
    expect(noSoap.ok === false && noSoap.issues.map((issue) => [issue.path, issue.message])).toEqual([['spec.soap', 'is required']]);
  });
});
