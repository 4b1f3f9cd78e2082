import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeErrorBody } from '../../../proxy/filters/bridge/bridge-errors.js';
import { codecFactory } from '../../../proxy/filters/bridge/codec.js';
import { SoapCodec, soapCodecFactory, type SoapBridgeSpec } from '../../../proxy/filters/bridge/soap/soap-codec.js';
import { loadWsdl } from '../../../proxy/filters/bridge/soap/wsdl-loader.js';
import { parseXml, type XmlElement } from '../../../proxy/filters/bridge/xml/xml-reader.js';
import { bridgeError } from './thrown-bridge-error.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const ENV11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const ENV12 = 'http://www.w3.org/2003/05/soap-envelope';
const load = (spec: Partial<SoapBridgeSpec> = {}): Promise<SoapCodec> =>
  soapCodecFactory.load({ wsdl: 'crm.wsdl', ...spec }, { baseDirectory: FIXTURES, timeoutMs: 5000 }) as Promise<SoapCodec>;

function bodyOf(xml: Buffer): XmlElement {
  const envelope = parseXml(xml);
  return envelope.children.find((child) => child.local === 'Body')!.children[0]!;
}

function plain(element: XmlElement): unknown {
  const attrs = Object.fromEntries(element.attributes);
  if (element.children.length === 0) return Object.keys(attrs).length > 0 ? { attrs, text: element.text } : element.text;
  return element.children.map((child) => ({ [`${child.ns === '' ? '' : `{${child.ns}}`}${child.local}`]: plain(child) }));
}

function response(envelopeNs: string, body: string, status = 200, contentType = 'text/xml; charset=utf-8') {
  const xml = `<?xml version="1.0"?><s:Envelope xmlns:s="${envelopeNs}" xmlns:c="urn:crm"><s:Body>${body}</s:Body></s:Envelope>`;
  return { status, headers: { 'content-type': contentType }, body: Buffer.from(xml) };
}


describe('SOAP codec: WSDL loading and compilation', () => {
  it('is registered as the soap codec', () => {
    expect(codecFactory('soap')).toBe(soapCodecFactory);
  });

  it('compiles the first SOAP 1.1 port with its operations, address and the imported and included types', async () => {
    const codec = await load();
    expect(codec.version).toBe('1.1');
    expect(codec.address?.href).toBe('http://crm.legacy:8080/services/crm?v=1');
    expect([...codec.operations.keys()]).toEqual(['GetCustomer', 'SetNote', 'Ping']);
    expect(codec.operations.get('GetCustomer')!.summary).toBe('One customer by id.');
    // Party's fields (from the chameleon include) come first, then Customer's extension.
    const customer = codec.schemas.get('Customer') as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(customer.properties)).toEqual(['id', 'name', 'active', 'balance', 'account', 'score', 'since', 'kind', 'referrer', 'phone']);
    expect(customer.required).toEqual(['id', 'name', 'active', 'balance', 'account']);
    expect(customer.properties.referrer).toEqual({ anyOf: [{ $ref: '#/components/schemas/Customer' }, { type: 'null' }] });
    expect(customer.properties.kind).toEqual({ type: 'string', enum: ['call', 'visit'] });
  });

  it('selects a SOAP 1.2 port by name', async () => {
    const codec = await load({ port: 'Crm12Port' });
    expect(codec.version).toBe('1.2');
    expect(codec.address?.pathname).toBe('/services/crm12');
  });

  it('refuses an RPC/encoded WSDL at load, naming the operations', async () => {
    await expect(load({ wsdl: 'rpc-encoded.wsdl' })).rejects.toThrow(
      /CalcBinding is RPC and\/or encoded for Add \(style=rpc, use=encoded\/encoded\): the bridge supports document\/literal SOAP only/,
    );
  });

  it('refuses a missing service or port, and imports nested deeper than the limit', async () => {
    await expect(load({ service: 'Nope' })).rejects.toThrow(/no SOAP port for service Nope/);
    await expect(loadWsdl('crm.wsdl', FIXTURES, { maxDepth: 1, maxDocuments: 10, maxBytesPerDocument: 100_000, timeoutMs: 1000 })).rejects.toThrow(
      /nested deeper than 1 at .*crm-common\.xsd/,
    );
  });

  describe('over HTTP', () => {
    let server: http.Server;
    let base: string;
    beforeAll(async () => {
      server = http.createServer(async (req, res) => {
        const name = req.url!.slice(1);
        if (name === 'remote-imports-file.wsdl') {
          res.end(`<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"><wsdl:import location="file:///etc/passwd"/></wsdl:definitions>`);
          return;
        }
        res.end(await readFile(join(FIXTURES, name)));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('loads a WSDL by URL, following its relative imports over HTTP', async () => {
      const codec = await load({ wsdl: `${base}/crm.wsdl` });
      expect(codec.schemas.has('Customer')).toBe(true);
    });

    it('refuses a remote WSDL that imports a local file', async () => {
      await expect(load({ wsdl: `${base}/remote-imports-file.wsdl` })).rejects.toThrow(/may not import file:\/\/\/etc\/passwd/);
    });
  });
});

describe('SOAP codec: JSON to the request envelope', () => {
  it('builds a wrapped SOAP 1.1 request in sequence order, arrays repeated, with the SOAPAction', async () => {
    const codec = await load();
    const request = codec.encodeRequest('GetCustomer', { include: ['orders', 'notes'], customer_id: 7 });
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/services/crm?v=1');
    expect(request.headers).toEqual({ 'content-type': 'text/xml; charset=utf-8', soapaction: '"urn:crm#GetCustomer"' });
    const wrapper = bodyOf(request.body);
    expect([wrapper.ns, wrapper.local]).toEqual(['urn:crm', 'GetCustomer']);
    expect(plain(wrapper)).toEqual([{ '{urn:crm}customer_id': '7' }, { '{urn:crm}include': 'orders' }, { '{urn:crm}include': 'notes' }]);
  });

  it('builds a bare request with one element per part, typed', async () => {
    const codec = await load();
    const request = codec.encodeRequest('SetNote', { note: 'visit', ref: '9223372036854775807' });
    const envelope = parseXml(request.body);
    const body = envelope.children.find((child) => child.local === 'Body')!;
    expect(body.children.map((child) => [child.local, child.text])).toEqual([
      ['CustomerRef', '9223372036854775807'],
      ['Note', 'visit'],
    ]);
  });

  it('builds SOAP 1.2 with the action in the content type and the 2003/05 envelope', async () => {
    const codec = await load({ port: 'Crm12Port' });
    const request = codec.encodeRequest('GetCustomer', { customer_id: 1 });
    expect(request.headers).toEqual({ 'content-type': 'application/soap+xml; charset=utf-8; action="urn:crm#GetCustomer"' });
    expect(parseXml(request.body).ns).toBe(ENV12);
    expect(codec.encodeRequest('Ping', {}).headers['content-type']).toBe('application/soap+xml; charset=utf-8');
  });

  it('carries XML-injection values as literal text', async () => {
    const codec = await load();
    const hostile = '</c:include><c:customer_id>1</c:customer_id><![CDATA[x]]>&amp;&lt;"\'';
    const request = codec.encodeRequest('GetCustomer', { customer_id: 7, include: [hostile] });
    const wrapper = bodyOf(request.body);
    expect(wrapper.children.map((child) => child.text)).toEqual(['7', hostile]);
  });

  it.each([
    [{ customer_id: 1, extra: 1 }, '/: unknown field(s) extra for GetCustomer'],
    [{}, '/customer_id: is required'],
    [{ customer_id: '7' }, '/customer_id: expected an integer (xs:int)'],
    [{ customer_id: 2 ** 31 }, '/customer_id: 2147483648 is out of range for xs:int'],
    [{ customer_id: 1.5 }, '/customer_id: expected an integer (xs:int)'],
    [{ customer_id: 1, include: 'one' }, '/include: expected an array'],
    [{ customer_id: 1, include: [null] }, '/include/0: may not be null'],
    [{ customer_id: 1, include: ['bell\u0007'] }, '/include/0: string holds a character XML cannot carry'],
  ])('refuses %j with a schema violation naming the field', async (args, message) => {
    const codec = await load();
    const error = bridgeError(() => codec.encodeRequest('GetCustomer', args as never));
    expect([error.code, error.status, error.message]).toEqual(['SCHEMA_VIOLATION', 400, message]);
  });

  it('refuses long and decimal values that would lose precision, and bad enumerations', async () => {
    const codec = await load();
    expect(bridgeError(() => codec.encodeRequest('SetNote', { ref: 2 ** 60, note: 'call' })).message).toBe('/ref: expected an integer as a JSON string (xs:long)');
    expect(bridgeError(() => codec.encodeRequest('SetNote', { ref: '9223372036854775808', note: 'call' })).message).toMatch(/out of range for xs:long/);
    expect(bridgeError(() => codec.encodeRequest('SetNote', { ref: '1', note: 'email' })).message).toBe("/note: 'email' is not one of call, visit");
    expect(bridgeError(() => codec.encodeRequest('SetNote', { ref: '1' })).message).toBe('/note: is required');
  });

  it('refuses an operation the port does not have', async () => {
    const codec = await load();
    expect(bridgeError(() => codec.encodeRequest('DropTables', {})).code).toBe('UNKNOWN_ROUTE');
  });
});

describe('SOAP codec: the response envelope to JSON', () => {
  const customer =
    '<c:GetCustomerResponse><c:customer xmlns:x="urn:crm:types" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<id>7</id><name>Ada &amp; Co</name><active>1</active><balance>12345678901234567.89</balance>' +
    '<account>9007199254740993</account><score>-INF</score><since>2024-02-29T13:45:07Z</since>' +
    '<referrer xsi:nil="true"/><phone>1</phone><phone>2</phone><ignored>x</ignored></c:customer></c:GetCustomerResponse>';

  it('reads typed values both ways: int, boolean, decimal and long as strings, doubles, nil, arrays', async () => {
    const codec = await load();
    expect(codec.decodeResponse('GetCustomer', response(ENV11, customer))).toEqual({
      customer: {
        id: 7,
        name: 'Ada & Co',
        active: true,
        balance: '12345678901234567.89',
        account: '9007199254740993',
        score: '-INF',
        since: '2024-02-29T13:45:07Z',
        referrer: null,
        phone: ['1', '2'],
      },
    });
  });

  it('reads a bare response by part name, and a one-way operation as null', async () => {
    const codec = await load();
    expect(codec.decodeResponse('SetNote', response(ENV11, '<c:Ack>false</c:Ack>'))).toEqual({ ack: false });
    expect(codec.decodeResponse('Ping', { status: 202, headers: {}, body: Buffer.alloc(0) })).toBeNull();
  });

  it('refuses a malformed value in the response as an invalid upstream response', async () => {
    const codec = await load();
    const error = bridgeError(() => codec.decodeResponse('SetNote', response(ENV11, '<c:Ack>maybe</c:Ack>')));
    expect([error.code, error.status]).toEqual(['UPSTREAM_INVALID_RESPONSE', 502]);
  });

  it('maps SOAP 1.1 faults by class, whatever the HTTP status, and by the fault table', async () => {
    const codec = await load({ faultStatus: { '*.NotFound': 404 } });
    const fault = (code: string, status: number) =>
      bridgeError(() =>
        codec.decodeResponse(
          'GetCustomer',
          response(ENV11, `<s:Fault><faultcode>s:${code}</faultcode><faultstring>text of ${code}</faultstring><detail><trace>at db.py:42</trace></detail></s:Fault>`, status),
        ),
      );
    const notFound = fault('Client.NotFound', 200);
    expect(bridgeErrorBody(notFound)).toEqual({
      error: { code: 'LEGACY_CLIENT_FAULT', status: 404, message: 'text of Client.NotFound', fault: { code: 'Client.NotFound', subcodes: ['NotFound'], message: 'text of Client.NotFound' } },
    });
    expect([fault('Client', 500).status, fault('Client', 500).code]).toEqual([400, 'LEGACY_CLIENT_FAULT']);
    const server = fault('Server', 500);
    expect([server.status, server.code]).toEqual([502, 'LEGACY_SERVER_FAULT']);
    // The detail (a traceback here) is for the log, not the caller.
    expect(JSON.stringify(bridgeErrorBody(server))).not.toContain('db.py');
    expect((server.cause as Error).message).toContain('at db.py:42');
  });

  it('maps SOAP 1.2 Code/Subcode/Reason faults', async () => {
    const codec = await load({ port: 'Crm12Port', faultStatus: { 'Sender.Missing': 404 } });
    const body =
      '<s:Fault xmlns:app="urn:app"><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>app:Missing</s:Value></s:Subcode></s:Code>' +
      '<s:Reason><s:Text xml:lang="fr">introuvable</s:Text><s:Text xml:lang="en">not found</s:Text></s:Reason></s:Fault>';
    const error = bridgeError(() => codec.decodeResponse('GetCustomer', response(ENV12, body, 400, 'application/soap+xml')));
    expect(bridgeErrorBody(error).error).toEqual({
      code: 'LEGACY_CLIENT_FAULT',
      status: 404,
      message: 'not found',
      fault: { code: 'Sender.Missing', subcodes: ['Missing'], message: 'not found' },
    });
    const receiver = '<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang="en">down</s:Text></s:Reason></s:Fault>';
    expect(bridgeError(() => codec.decodeResponse('GetCustomer', response(ENV12, receiver, 500))).status).toBe(502);
  });

  it.each([
    ['an HTML 5xx', { status: 502, headers: { 'content-type': 'text/html' }, body: Buffer.from('<html>Bad gateway</html>') }, /HTTP 502 with text\/html, not XML/],
    ['an empty 5xx', { status: 503, headers: { 'content-type': 'text/xml' }, body: Buffer.alloc(0) }, /HTTP 503 with no body/],
    ['unparsable XML', { status: 200, headers: { 'content-type': 'text/xml' }, body: Buffer.from('<a><b></a>') }, /malformed XML/],
    ['an XXE response', response(ENV11, '').body.toString().replace('<?xml version="1.0"?>', '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'), /DOCTYPE is refused/],
    ['a SOAP 1.2 envelope on a 1.1 port', response(ENV12, '<c:Ack>true</c:Ack>'), /not a SOAP 1.1 envelope/],
    ['a 500 without a fault', response(ENV11, '<c:Ack>true</c:Ack>', 500), /HTTP 500 without a fault/],
    ['a response without the output element', response(ENV11, '<c:Other/>'), /has no \{urn:crm\}GetCustomerResponse element/],
  ])('answers 502 for %s', async (_name, raw, message) => {
    const codec = await load();
    const upstream = typeof raw === 'string' ? { status: 200, headers: { 'content-type': 'text/xml' }, body: Buffer.from(raw) } : raw;
    const error = bridgeError(() => codec.decodeResponse('GetCustomer', upstream));
    expect([error.code, error.status]).toEqual(['UPSTREAM_INVALID_RESPONSE', 502]);
    expect(error.message).toMatch(message);
  });

  it('refuses a response over the configured size', async () => {
    const codec = await load({ maxResponseBytes: 100 });
    expect(bridgeError(() => codec.decodeResponse('GetCustomer', response(ENV11, customer))).message).toMatch(/over the limit of 100/);
  });
});

describe('SOAP codec: attributes, simple content, model and attribute groups', () => {
  const catalog = (): Promise<SoapCodec> => soapCodecFactory.load({ wsdl: 'catalog.wsdl' }, { baseDirectory: FIXTURES, timeoutMs: 5000 }) as Promise<SoapCodec>;
  const item = { id: '9007199254740993', revision: 3, lang: 'de', sku: 'A-1', name: 'Bolt <M8> & nut', price: { $value: '0.10', currency: 'E"U<R&' }, tags: ['x'] };

  it('maps attributes to properties beside the elements, and simple content to $value, in the JSON Schema', async () => {
    const codec = await catalog();
    const schema = codec.schemas.get('Item') as { properties: Record<string, unknown>; required: string[] };
    // Group members in place of the group; attributes (the group's too, and a global one by ref); a prohibited one left out.
    expect(Object.keys(schema.properties)).toEqual(['sku', 'name', 'price', 'tags', 'id', 'revision', 'lang']);
    expect(schema.required).toEqual(['sku', 'name', 'price', 'id']);
    expect(codec.schemas.get('Price')).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { $value: expect.objectContaining({ type: 'string', description: 'xs:decimal, as a string' }), currency: { type: 'string' }, approx: { type: 'boolean' } },
      required: ['currency'],
    });
  });

  it('writes attributes as attributes (a global one qualified), values escaped, and the text of simple content', async () => {
    const codec = await catalog();
    const request = codec.encodeRequest('PutItem', { item });
    const text = request.body.toString('utf8');
    const put = bodyOf(request.body);
    const written = put.children[0]!;
    expect(Object.fromEntries(written.attributes)).toEqual({ id: '9007199254740993', revision: '3', '{urn:catalog}lang': 'de' });
    expect(written.children.map((child) => child.local)).toEqual(['sku', 'name', 'price', 'tags']);
    expect(written.children[1]!.text).toBe('Bolt <M8> & nut');
    // An injection attempt in an attribute stays its value: quotes and markup escaped by the serializer.
    expect(text).toContain('currency="E&quot;U&lt;R&amp;"');
    const price = written.children[2]!;
    expect([price.text, Object.fromEntries(price.attributes)]).toEqual(['0.10', { currency: 'E"U<R&' }]);
  });

  it('refuses a missing required attribute, a null or mistyped one, and an object for simple content', async () => {
    const codec = await catalog();
    const refused = (args: unknown) => bridgeError(() => codec.encodeRequest('PutItem', args as never));
    const { id: _id, ...withoutId } = item;
    expect(refused({ item: withoutId }).message).toBe('/item/id: is required');
    expect(refused({ item: { ...item, revision: null } }).message).toBe('/item/revision: may not be null');
    expect(refused({ item: { ...item, revision: 'three' } }).status).toBe(400);
    expect(refused({ item: { ...item, price: { $value: { a: 1 }, currency: 'EUR' } } }).status).toBe(400);
    expect(refused({ item: { ...item, legacyCode: 'x' } }).message).toMatch(/unknown field\(s\) legacyCode/);
  });

  it('reads attributes and simple content back, typed', async () => {
    const codec = await catalog();
    const answer = response(
      ENV11,
      '<c:GetItemResponse xmlns:c="urn:catalog"><c:item id="12" c:lang="fr" revision="4" other="ignored"><c:sku>A-1</c:sku><c:name>Bolt</c:name>' +
        '<c:price currency="EUR" approx="true">1.50</c:price></c:item></c:GetItemResponse>',
    );
    expect(codec.decodeResponse('GetItem', answer)).toEqual({ item: { sku: 'A-1', name: 'Bolt', price: { $value: '1.50', currency: 'EUR', approx: true }, tags: [], id: '12', revision: 4, lang: 'fr' } });
    const malformed = response(ENV11, '<c:GetItemResponse xmlns:c="urn:catalog"><c:item id="x"><c:sku>A</c:sku><c:name>B</c:name><c:price currency="E">1</c:price></c:item></c:GetItemResponse>');
    expect(bridgeError(() => codec.decodeResponse('GetItem', malformed)).status).toBe(502);
  });

  it('refuses at load a type whose attribute and element share a name, a group not defined or referring to itself, a complex attribute', async () => {
    const wsdl = await readFile(join(FIXTURES, 'catalog.wsdl'), 'utf8');
    const variant = async (from: string, to: string) => {
      const server = http.createServer((_req, res) => res.end(wsdl.replace(from, to)));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        return await soapCodecFactory.load({ wsdl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/catalog?wsdl` }, { baseDirectory: FIXTURES, timeoutMs: 5000 }).then(
          () => 'loaded',
          (error: Error) => error.message,
        );
      } finally {
        server.close();
      }
    };
    expect(await variant('<xs:attribute name="id" type="xs:long" use="required"/>', '<xs:attribute name="sku" type="xs:string"/>')).toMatch(/XSD type Item: sku named twice/);
    expect(await variant('<xs:group ref="tns:ItemCore"/>', '<xs:group ref="tns:Missing"/>')).toMatch(/XSD group \{urn:catalog\}Missing is not defined/);
    expect(await variant('<xs:attributeGroup ref="tns:Audit"/>', '<xs:attributeGroup ref="tns:Missing"/>')).toMatch(/XSD attributeGroup \{urn:catalog\}Missing is not defined/);
    // A group that refers to itself (through another) is refused at load, not a stack overflow.
    expect(await variant('<xs:element name="name" type="xs:string"/>', '<xs:group ref="tns:ItemCore"/>')).toMatch(/XSD group \{urn:catalog\}ItemCore refers to itself/);
    expect(await variant('<xs:attribute ref="tns:lang"/>', '<xs:attributeGroup ref="tns:Audit"/>')).toMatch(/XSD attributeGroup \{urn:catalog\}Audit refers to itself/);
    expect(await variant('<xs:attribute name="revision" type="xs:int"/>', '<xs:attribute name="revision" type="tns:Price"/>')).toMatch(/XSD attribute revision has a complex type/);
  });
});
