// The bridge README's five-line examples, one per protocol, are configs the sidecar's loader takes
// as they are printed: each YAML block is read from the README, checked to be five lines, and
// validated as the inbound filters of a sidecar.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateConfig } from '../../../proxy/config/load-config.js';
import { testConfig } from '../../helpers/sidecar.js';

/** The YAML block under `heading` in the bridge README, checked to be five lines, parsed. */
async function readmeExample(heading: string): Promise<unknown> {
  const readme = await readFile(join(import.meta.dirname, '../../../proxy/filters/bridge/README.md'), 'utf8');
  expect(readme).toContain(heading);
  const example = /```yaml\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(heading)))![1]!;
  expect(example.trim().split('\n')).toHaveLength(5);
  return parse(example);
}

/** The bridge entry of a filter-list example, after the sidecar's config loader took it. */
async function bridgeOf(heading: string): Promise<Record<string, unknown>> {
  const filters = [...((await readmeExample(heading)) as Record<string, unknown>[]), { name: 'router' }];
  const config = validateConfig(testConfig({ inbound: { port: 0, appPort: 8080, filters } }));
  return (config.inbound?.filters?.[0]?.config as { bridges: Record<string, unknown>[] }).bridges[0]!;
}

describe('the bridge README', () => {
  it('shows a SOAP 1.1 bridge with a route and a fault table that the config loader takes', async () => {
    expect(await bridgeOf('## A JSON API in front of a SOAP service')).toMatchObject({
      protocol: 'soap',
      soap: { faultStatus: { '*.NotFound': 404 } },
      routes: [{ method: 'GET', path: '/v1/customers/{id}', operation: 'GetCustomer' }],
    });
  });

  it('shows a SOAP 1.2 bridge entry, with a UsernameToken, that the config loader takes', async () => {
    expect(await bridgeOf('## A JSON API in front of a SOAP 1.2 service')).toMatchObject({
      soap: { port: 'CrmSoap12', usernameToken: { passwordType: 'PasswordDigest' } },
    });
  });

  it('shows an Odoo XML-RPC bridge that the config loader takes', async () => {
    expect(await bridgeOf('## A JSON API in front of Odoo (XML-RPC)')).toMatchObject({
      protocol: 'xmlrpc',
      xmlrpc: { profile: 'odoo', odoo: { database: 'prod', models: { 'res.partner': ['search_read', 'read'] } } },
    });
  });

  it("shows a sidecar config for a gRPC service's JSON API that the config loader takes", async () => {
    const config = validateConfig(testConfig((await readmeExample('## A JSON API in front of a gRPC service')) as Record<string, unknown>));
    expect(config.inbound?.filters?.map((filter) => filter.name)).toEqual(['bridge', 'router']);
  });
});
