// Untrusted XML (legacy responses, WSDL and XSD documents) into a small namespace-resolved
// element tree, with saxes: a strict, well-formedness-checking streaming parser that expands no
// DTD-declared entity. A DOCTYPE is refused outright (no DTD, so no XXE and no entity
// expansion), and depth, size, element and attribute counts are bounded as the bytes arrive.
import { SaxesParser, type SaxesTagNS } from 'saxes';

export interface XmlElement {
  /** Namespace URI ('' when none). */
  readonly ns: string;
  readonly local: string;
  /** Attributes by `{ns}local` (or `local` without namespace); xmlns declarations left out. */
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: XmlElement[];
  /** Character data directly inside this element (CDATA included), concatenated. */
  text: string;
  /** Namespace prefixes in scope at this element ('' is the default namespace). */
  readonly namespaces: Readonly<Record<string, string>>;
}

export interface XmlLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly maxElements: number;
  readonly maxAttributes: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = Object.freeze({
  maxBytes: 4 * 1024 * 1024,
  maxDepth: 64,
  maxElements: 100_000,
  maxAttributes: 64,
});

/** The document is not XML weft accepts: malformed, with a DTD, or past a limit. */
export class XmlRejected extends Error {
  override readonly name = 'XmlRejected';
}

/** `{ns}local`, the key of attributes and the way qualified names are compared. */
export function expandedName(ns: string, local: string): string {
  return ns === '' ? local : `{${ns}}${local}`;
}

export function parseXml(document: string | Uint8Array, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const text = typeof document === 'string' ? document : Buffer.from(document.buffer, document.byteOffset, document.byteLength).toString('utf8');
  const size = typeof document === 'string' ? Buffer.byteLength(document) : document.byteLength;
  if (size > limits.maxBytes) throw new XmlRejected(`XML document of ${size} bytes is over the limit of ${limits.maxBytes}`);
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  const rootScope: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
    '': '',
    xml: 'http://www.w3.org/XML/1998/namespace',
  });
  let root: XmlElement | undefined;
  let elements = 0;
  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= new XmlRejected(`malformed XML: ${error.message}`);
  });
  parser.on('doctype', () => {
    throw new XmlRejected('XML with a DOCTYPE is refused (no DTDs, no entities)');
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (++elements > limits.maxElements) throw new XmlRejected(`XML has more than ${limits.maxElements} elements`);
    if (stack.length >= limits.maxDepth) throw new XmlRejected(`XML is nested deeper than ${limits.maxDepth}`);
    const attributes = new Map<string, string>();
    for (const attribute of Object.values(tag.attributes)) {
      if (attribute.prefix === 'xmlns' || attribute.name === 'xmlns') continue;
      attributes.set(expandedName(attribute.uri, attribute.local), attribute.value);
    }
    if (attributes.size > limits.maxAttributes) throw new XmlRejected(`an XML element has more than ${limits.maxAttributes} attributes`);
    const parent = stack.at(-1);
    const element: XmlElement = {
      ns: tag.uri,
      local: tag.local,
      attributes,
      children: [],
      text: '',
      namespaces: Object.assign(Object.create(parent?.namespaces ?? rootScope) as Record<string, string>, tag.ns),
    };
    if (parent === undefined) root = element;
    else parent.children.push(element);
    stack.push(element);
  });
  parser.on('closetag', () => void stack.pop());
  const appendText = (data: string): void => {
    const current = stack.at(-1);
    if (current !== undefined) current.text += data;
  };
  parser.on('text', appendText);
  parser.on('cdata', appendText);
  try {
    parser.write(text).close();
  } catch (error) {
    throw error instanceof XmlRejected ? error : new XmlRejected(`malformed XML: ${(error as Error).message}`);
  }
  if (failure !== undefined) throw failure;
  if (root === undefined) throw new XmlRejected('XML document has no root element');
  return root;
}

/** Children of `element` named `{ns}local`. */
export function childrenNamed(element: XmlElement, ns: string, local: string): XmlElement[] {
  return element.children.filter((child) => child.ns === ns && child.local === local);
}

export function firstChild(element: XmlElement, ns: string, local: string): XmlElement | undefined {
  return element.children.find((child) => child.ns === ns && child.local === local);
}

/** A QName attribute value (`tns:Customer`) as namespace and local name, resolved at `element`. */
export function resolveQName(element: XmlElement, qname: string): { ns: string; local: string } {
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const local = colon < 0 ? qname : qname.slice(colon + 1);
  const ns = element.namespaces[prefix];
  if (ns === undefined) throw new XmlRejected(`QName '${qname}' uses the undeclared prefix '${prefix}'`);
  return { ns, local };
}
