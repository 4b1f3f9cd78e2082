import { describe, expect, it } from 'vitest';
import { DEFAULT_XML_LIMITS, parseXml, resolveQName, XmlRejected } from '../../../proxy/filters/bridge/xml/xml-reader.js';

const LIMITS = { ...DEFAULT_XML_LIMITS, maxBytes: 10_000, maxDepth: 8, maxElements: 50, maxAttributes: 4 };

describe('hardened XML reader', () => {
  it('resolves namespaces of elements, attributes and QName values, and keeps text and CDATA', () => {
    const root = parseXml(
      '<a:root xmlns:a="urn:a" xmlns="urn:default" xmlns:b="urn:b" b:flag="1" plain="x">' +
        '<child>one &amp; <![CDATA[<two>]]></child><b:other type="a:Thing"/></a:root>',
      LIMITS,
    );
    expect([root.ns, root.local]).toEqual(['urn:a', 'root']);
    expect(Object.fromEntries(root.attributes)).toEqual({ '{urn:b}flag': '1', plain: 'x' });
    const [child, other] = root.children;
    expect([child!.ns, child!.text]).toEqual(['urn:default', 'one & <two>']);
    expect(resolveQName(other!, other!.attributes.get('type')!)).toEqual({ ns: 'urn:a', local: 'Thing' });
    expect(() => resolveQName(other!, 'nope:Thing')).toThrow(/undeclared prefix 'nope'/);
  });

  it.each([
    ['an external entity (XXE)', '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'],
    ['an entity bomb', '<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><r>&b;&b;&b;</r>'],
    ['an internal entity', '<!DOCTYPE r [<!ENTITY x "injected">]><r>&x;</r>'],
    ['a bare DOCTYPE', '<!DOCTYPE r><r/>'],
  ])('refuses %s', (_name, document) => {
    expect(() => parseXml(document, LIMITS)).toThrow(/DOCTYPE is refused/);
  });

  it('refuses an undefined entity even without a DTD', () => {
    expect(() => parseXml('<r>&x;</r>', LIMITS)).toThrow(XmlRejected);
  });

  it('refuses documents past each limit, naming it', () => {
    expect(() => parseXml(`<r>${'x'.repeat(10_001)}</r>`, LIMITS)).toThrow(/over the limit of 10000/);
    expect(() => parseXml('<a>'.repeat(9) + '</a>'.repeat(9), LIMITS)).toThrow(/nested deeper than 8/);
    expect(() => parseXml(`<r>${'<e/>'.repeat(50)}</r>`, LIMITS)).toThrow(/more than 50 elements/);
    expect(() => parseXml('<r a="1" b="2" c="3" d="4" e="5"/>', LIMITS)).toThrow(/more than 4 attributes/);
    expect(parseXml('<a>'.repeat(8) + '</a>'.repeat(8), LIMITS).local).toBe('a');
  });

  it('refuses malformed XML and non-XML', () => {
    expect(() => parseXml('<r><a></r>', LIMITS)).toThrow(/malformed XML/);
    expect(() => parseXml('<html><body>Bad gateway<br></body></html>', LIMITS)).toThrow(XmlRejected);
    expect(() => parseXml('', LIMITS)).toThrow(XmlRejected);
  });
});
