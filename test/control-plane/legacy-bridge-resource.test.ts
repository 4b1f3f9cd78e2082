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

describe('LegacyBridge resource with protocol xmlrpc', () => {
  it('is accepted with the odoo profile, and needs its section for the protocol and profile', () => {
    const odoo = { database: 'prod', username: 'bridge', passwordEnv: 'ODOO_KEY', models: { 'res.partner': ['search_read'] } };
    const accepted = decodeResource(bridge({ protocol: 'xmlrpc', xmlrpc: { url: 'http://erp.legacy:8069', profile: 'odoo', odoo } }));
    expect(accepted.ok && accepted.resource.spec).toMatchObject({ xmlrpc: { i8: false, nil: false, maxResponseBytes: 4194304 } });
    const issues = (spec: Record<string, unknown>) => {
      const result = decodeResource(bridge(spec));
      return result.ok ? [] : result.issues.map((issue) => [issue.path, issue.message]);
    };
    expect(issues({ protocol: 'xmlrpc' })).toEqual([['spec.xmlrpc', 'is required']]);
    expect(issues({ protocol: 'xmlrpc', xmlrpc: { url: 'http://erp.legacy', profile: 'odoo' } })).toEqual([['spec.xmlrpc.odoo', 'is required']]);
    expect(issues({ protocol: 'xmlrpc', xmlrpc: { url: 'http://erp.legacy' } })).toEqual([['spec.xmlrpc.endpoints', 'is required']]);
  });
});
