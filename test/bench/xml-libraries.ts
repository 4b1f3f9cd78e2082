// `npm run bench:xml`: the XML libraries the legacy bridge could use, side by side on the same
// SOAP documents. Parsing a response: saxes (the bridge's hardened reader, which builds its
// namespace-resolved tree), fast-xml-parser, @xmldom/xmldom's DOMParser. Building a request
// envelope: @xmldom/xmldom (what the bridge uses), fast-xml-parser's builder, xmlbuilder2.
import { DOMImplementation, DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { create } from 'xmlbuilder2';
import { parseXml } from '../../proxy/filters/bridge/xml/xml-reader.js';

const ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const ROUNDS = 5;

function responseDocument(customers: number): string {
  const one = (i: number) =>
    `<ns0:Customer><ns0:id>${i}</ns0:id><ns0:name>Customer &amp; Sons ${i}</ns0:name><ns0:balance>1234.56</ns0:balance>` +
    `<ns0:active>true</ns0:active><ns0:created>2024-02-29T13:45:07Z</ns0:created><ns0:tags><ns0:string>vip</ns0:string>` +
    `<ns0:string>early</ns0:string></ns0:tags></ns0:Customer>`;
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${ENV}" xmlns:ns0="urn:weft:crm"><soap:Body>` +
    `<ns0:ListCustomersResponse>${Array.from({ length: customers }, (_, i) => one(i)).join('')}</ns0:ListCustomersResponse></soap:Body></soap:Envelope>`
  );
}

const FIELDS = { customer_id: '42', name: 'Ada <Lovelace> & Co', note: '"quoted" \'text\'', amount: '12.50', when: '2024-02-29T13:45:07Z' };

function buildXmldom(): string {
  const doc = new DOMImplementation().createDocument(ENV, 'soap:Envelope', null);
  doc.documentElement!.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns:ns0', 'urn:weft:crm');
  const body = doc.createElementNS(ENV, 'soap:Body');
  const call = doc.createElementNS('urn:weft:crm', 'ns0:UpdateCustomer');
  for (const [name, value] of Object.entries(FIELDS)) {
    const field = doc.createElementNS('urn:weft:crm', `ns0:${name}`);
    field.appendChild(doc.createTextNode(value));
    call.appendChild(field);
  }
  body.appendChild(call);
  doc.documentElement!.appendChild(body);
  return new XMLSerializer().serializeToString(doc);
}

const fxpBuilder = new XMLBuilder({ ignoreAttributes: false, processEntities: true });
function buildFastXmlParser(): string {
  const call = Object.fromEntries(Object.entries(FIELDS).map(([name, value]) => [`ns0:${name}`, value]));
  return fxpBuilder.build({ 'soap:Envelope': { '@_xmlns:soap': ENV, '@_xmlns:ns0': 'urn:weft:crm', 'soap:Body': { 'ns0:UpdateCustomer': call } } });
}

function buildXmlbuilder2(): string {
  const call = create().ele(ENV, 'soap:Envelope').att('http://www.w3.org/2000/xmlns/', 'xmlns:ns0', 'urn:weft:crm').ele(ENV, 'soap:Body').ele('urn:weft:crm', 'ns0:UpdateCustomer');
  for (const [name, value] of Object.entries(FIELDS)) call.ele('urn:weft:crm', `ns0:${name}`).txt(value).up();
  return call.end();
}

function perSecond(work: () => unknown, seconds: number): number {
  for (let i = 0; i < 50; i++) work();
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let count = 0;
    const started = performance.now();
    while (performance.now() - started < (seconds * 1000) / ROUNDS) {
      work();
      count++;
    }
    rates.push((count * 1000) / (performance.now() - started));
  }
  return rates.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

function report(title: string, candidates: Record<string, () => unknown>, seconds: number): void {
  const rates = Object.entries(candidates).map(([name, work]) => [name, perSecond(work, seconds)] as const);
  const first = rates[0]![1];
  console.log(title);
  for (const [name, rate] of rates) console.log(`  ${name.padEnd(40)} ${Math.round(rate).toString().padStart(8)} /s  (${(rate / first).toFixed(2)}x)`);
}

const fxp = new XMLParser({ ignoreAttributes: false, processEntities: false });
const domParser = new DOMParser();
for (const [label, customers] of [
  ['1 customer', 1],
  ['500 customers', 500],
] as const) {
  const document = responseDocument(customers);
  report(
    `parse a SOAP response, ${label} (${document.length} bytes)`,
    {
      'saxes (weft hardened reader + tree)': () => parseXml(document),
      'fast-xml-parser': () => fxp.parse(document),
      '@xmldom/xmldom DOMParser': () => domParser.parseFromString(document, 'text/xml'),
    },
    customers === 1 ? 2 : 4,
  );
}
report(
  'build a request envelope (5 fields, escaped)',
  {
    '@xmldom/xmldom DOM + XMLSerializer (weft)': buildXmldom,
    'fast-xml-parser XMLBuilder': buildFastXmlParser,
    xmlbuilder2: buildXmlbuilder2,
  },
  2,
);
