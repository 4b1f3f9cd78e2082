// XML-RPC values <-> JSON without a peer: what is built for each JSON value (read back by the
// hardened reader), and what each answer type becomes, with the refusals naming the place.
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../../proxy/filters/bridge/codec.js';
import { parseXml, type XmlElement } from '../../../proxy/filters/bridge/xml/xml-reader.js';
import { readValue, XmlRpcBuilder } from '../../../proxy/filters/bridge/xmlrpc/xmlrpc-values.js';

const strict = { i8: false, nil: false };
const open = { i8: true, nil: true };
const built = (param: JsonValue, options = strict): XmlElement =>
  parseXml(XmlRpcBuilder.call('m', [param], options)).children[1]!.children[0]!.children[0]!;
const typeOf = (param: JsonValue, options = strict): string => {
  const value = built(param, options).children[0]!;
  return `${value.local}:${value.text}`;
};
const read = (xml: string, options = strict): JsonValue => readValue(parseXml(`<value>${xml}</value>`), options);

describe('XML-RPC values', () => {
  it('builds each JSON value as its XML-RPC type', () => {
    expect(
      [[-2147483648, 2147483647, 2.5, true, false, 'x', { $double: 2 }, { $dateTime: '20261203T15:30:00' }, { $base64: 'AAEC' }]].flat().map((value) => typeOf(value as JsonValue)),
    ).toEqual(['int:-2147483648', 'int:2147483647', 'double:2.5', 'boolean:1', 'boolean:0', 'string:x', 'double:2', 'dateTime.iso8601:20261203T15:30:00', 'base64:AAEC']);
    expect(typeOf(4294967296, open)).toBe('i8:4294967296');
    expect(typeOf({ $i8: '-9223372036854775808' }, open)).toBe('i8:-9223372036854775808');
    expect(typeOf(null, open)).toBe('nil:');
  });

  it('escapes text and keeps struct member names as text, so values cannot become markup', () => {
    const xml = XmlRpcBuilder.call('m', [{ '</name><x>': '</string><i4>1</i4>' }], strict);
    expect(xml).not.toContain('<x>');
    expect(readValue(parseXml(xml).children[1]!.children[0]!.children[0]!, strict)).toEqual({ '</name><x>': '</string><i4>1</i4>' });
  });

  it('refuses what XML-RPC cannot carry, naming the place', () => {
    expect(() => XmlRpcBuilder.call('m', [[1, 2147483648]], strict)).toThrow('/params/0/1: 2147483648 is out of the range of an XML-RPC int (32 bits; i8 is not enabled)');
    expect(() => XmlRpcBuilder.call('m', [2 ** 53 + 2], open)).toThrow(/not exact as a JSON number/);
    expect(() => XmlRpcBuilder.call('m', [{ a: null }], strict)).toThrow('/params/0/a: null is not allowed (nil is not enabled for this bridge)');
    expect(() => XmlRpcBuilder.call('m', [{ $base64: 'AAE' }], strict)).toThrow(/expected base64 text/);
    expect(() => XmlRpcBuilder.call('m', [{ $dateTime: 'x', other: 1 }], strict)).toThrow(/\$dateTime must be the only key/);
    expect(() => XmlRpcBuilder.call('m', ['bell \u0007'], strict)).toThrow(/character XML 1.0 cannot carry/);
  });

  it('reads every answer type, untyped values as strings', () => {
    expect(read('<i4> 7 </i4>')).toBe(7);
    expect(read('plain')).toBe('plain');
    expect(read('<double>-1.5e3</double>')).toBe(-1500);
    expect(read('<boolean>1</boolean>')).toBe(true);
    expect(read('<base64>AA\n EC</base64>')).toEqual({ $base64: 'AAEC' });
    expect(read('<array><data><value><int>1</int></value><value>a</value></data></array>')).toEqual([1, 'a']);
    expect(read('<struct><member><name>__proto__</name><value>x</value></member></struct>')).toEqual(JSON.parse('{"__proto__": "x"}'));
    expect(read('<i8>9223372036854775807</i8>', open)).toBe('9223372036854775807');
    expect(read('<nil/>', open)).toBeNull();
  });

  it('refuses answers out of range or not enabled', () => {
    expect(() => read('<int>2147483648</int>')).toThrow("'2147483648' is not a 32-bit int");
    expect(() => read('<i8>1</i8>')).toThrow(/i8, which is not enabled/);
    expect(() => read('<i8>9223372036854775808</i8>', open)).toThrow(/not a 64-bit i8/);
    expect(() => read('<nil/>')).toThrow(/nil, which is not enabled/);
    expect(() => read('<boolean>true</boolean>')).toThrow(/not a boolean/);
    expect(() => read('<double>NaN</double>')).toThrow(/not a double/);
    expect(() => read('<object/>')).toThrow(/unknown XML-RPC type <object>/);
  });
});
