import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { BridgeError, bridgeErrorBody } from '../../../proxy/filters/bridge/bridge-errors.js';
import { openApiDocument } from '../../../proxy/filters/bridge/bridge-openapi.js';
import { compileRoutes, matchRoute, routeArguments, type CompiledRoute } from '../../../proxy/filters/bridge/bridge-routes.js';
import { soapCodecFactory, type SoapCodec } from '../../../proxy/filters/bridge/soap/soap-codec.js';
import { bridgeError } from './thrown-bridge-error.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
let codec: SoapCodec;
let routes: CompiledRoute[];

beforeAll(async () => {
  codec = (await soapCodecFactory.load({ wsdl: 'crm.wsdl' }, { baseDirectory: FIXTURES, timeoutMs: 5000 })) as SoapCodec;
  routes = compileRoutes(codec, [
    { method: 'GET', path: '/v1/customers/{id}', operation: 'GetCustomer', params: { id: 'customer_id' } },
    { method: 'put', path: '/v1/customers/{ref}/note', operation: 'SetNote' },
  ]);
});


describe('bridge routes', () => {
  it('maps a declared route to its operation with typed path arguments', () => {
    const match = matchRoute(routes, 'GET', '/v1/customers/42');
    expect([match.route.operation.name, match.pathArgs]).toEqual(['GetCustomer', { customer_id: 42 }]);
    // xs:long stays a string, percent-decoding applied.
    expect(matchRoute(routes, 'PUT', '/v1/customers/9223372036854775807/note').pathArgs).toEqual({ ref: '9223372036854775807' });
  });

  it('gives every operation its default route POST /soap/{service}/{operation}', () => {
    expect(matchRoute(routes, 'POST', '/soap/CrmService/SetNote').route.operation.name).toBe('SetNote');
    expect(routes.filter((route) => route.template.startsWith('/soap/')).map((route) => route.template)).toEqual([
      '/soap/CrmService/GetCustomer',
      '/soap/CrmService/SetNote',
      '/soap/CrmService/Ping',
    ]);
  });

  it('answers 404 for an unknown route or method and 400 for a badly typed path argument', () => {
    expect(bridgeErrorBody(bridgeError(() => matchRoute(routes, 'GET', '/v1/orders/1'))).error).toMatchObject({ code: 'UNKNOWN_ROUTE', status: 404 });
    expect(bridgeError(() => matchRoute(routes, 'DELETE', '/v1/customers/1')).status).toBe(404);
    expect(bridgeError(() => matchRoute(routes, 'GET', '/v1/customers/')).status).toBe(404);
    expect(bridgeError(() => matchRoute(routes, 'GET', '/v1/customers/abc')).message).toBe("/customer_id: 'abc' is not a integer");
  });

  it('merges path arguments and the JSON body, refusing a field given twice or a non-object body', () => {
    const note = matchRoute(routes, 'PUT', '/v1/customers/1/note');
    expect(routeArguments(note, undefined, { note: 'call' })).toEqual({ ref: '1', note: 'call' });
    expect(bridgeError(() => routeArguments(note, undefined, { ref: '2' })).message).toBe('/ref: given both in the path and in the body');
    expect(bridgeError(() => routeArguments(note, undefined, [1])).code).toBe('SCHEMA_VIOLATION');
    // Routes without `query` (SOAP's) leave the query string alone.
    expect(routeArguments(note, new URLSearchParams('x=1'), { note: 'call' })).toEqual({ ref: '1', note: 'call' });
  });

  it('refuses routes to unknown operations or arguments, listing every problem', () => {
    expect(() =>
      compileRoutes(codec, [
        { method: 'GET', path: '/a/{x}', operation: 'GetCustomer' },
        { method: 'GET', path: '/b', operation: 'Nope' },
      ]),
    ).toThrow('route GET /a/{x}: GetCustomer has no argument x; route GET /b: operation Nope is not in the legacy service');
  });
});

describe('the OpenAPI 3.1 document of the facade', () => {
  it('is valid OpenAPI 3.1 by a real validator', async () => {
    const document = openApiDocument('crm', codec, routes);
    const result = await new Validator().validate(document as Parameters<Validator["validate"]>[0]);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(Object.keys(document.paths as object)).toEqual([
      '/v1/customers/{id}',
      '/v1/customers/{ref}/note',
      '/soap/CrmService/GetCustomer',
      '/soap/CrmService/SetNote',
      '/soap/CrmService/Ping',
    ]);
  });

  it("describes a sample call: the request fits the body schema, the codec's result the 200 schema, an error the error schema", () => {
    // Walked by the paths the generator writes; a wrong path fails the test.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const document = openApiDocument('crm', codec, routes) as { paths: Record<string, Record<string, any>>; components: { schemas: object } };
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'doc', components: document.components });
    const compile = (schema: object) => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"doc#/components')));
    const post = document.paths['/soap/CrmService/GetCustomer']!.post;
    const requestSchema = compile(post.requestBody.content['application/json'].schema);
    expect(requestSchema({ customer_id: 7, include: ['orders'] })).toBe(true);
    expect(requestSchema({ customer_id: '7' })).toBe(false);
    expect(requestSchema({ customer_id: 7, extra: true })).toBe(false);
    const result = codec.decodeResponse('GetCustomer', {
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: Buffer.from(
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><c:GetCustomerResponse xmlns:c="urn:crm"><c:customer>' +
          '<id>7</id><name>Ada</name><active>true</active><balance>1.10</balance><account>9007199254740993</account><kind>call</kind>' +
          '</c:customer></c:GetCustomerResponse></s:Body></s:Envelope>',
      ),
    });
    const responseSchema = compile(post.responses['200'].content['application/json'].schema);
    expect(responseSchema(result), JSON.stringify(responseSchema.errors)).toBe(true);
    const get = document.paths['/v1/customers/{id}']!.get;
    expect(get.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: -2147483648, maximum: 2147483647 } }]);
    expect(get.requestBody).toBeUndefined();
    const errorSchema = compile(get.responses.default.content['application/json'].schema);
    expect(errorSchema(bridgeErrorBody(new BridgeError('UNKNOWN_ROUTE')))).toBe(true);
    expect(errorSchema({ error: { code: 'MADE_UP', status: 1, message: '' } })).toBe(false);
  });
});
