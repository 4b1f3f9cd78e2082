// A loaded WSDL 1.1 compiled once into the operations of one SOAP port: for each, the SOAPAction
// from the binding and the body elements of its input and output, resolved against the XSD
// schemas. Document/literal only (wrapped and bare); an RPC or encoded binding is refused here,
// at load, naming every operation that uses it.
import { childrenNamed, expandedName, firstChild, resolveQName, type XmlElement } from '../xml/xml-reader.js';
import { WSDL_NS, type LoadedWsdl } from './wsdl-loader.js';
import { SchemaSet, type ElementDeclaration } from './xsd-schema.js';

export const SOAP11_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
export const SOAP12_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';

export type SoapVersion = '1.1' | '1.2';

export interface BodyPart {
  readonly name: string;
  readonly element: ElementDeclaration;
}

export interface SoapOperation {
  readonly name: string;
  readonly soapAction: string;
  readonly input: readonly BodyPart[];
  /** Undefined for a one-way operation. */
  readonly output: readonly BodyPart[] | undefined;
  readonly documentation: string | undefined;
}

export interface CompiledPort {
  readonly service: string;
  readonly port: string;
  readonly version: SoapVersion;
  readonly address: URL | undefined;
  readonly operations: ReadonlyMap<string, SoapOperation>;
}

export interface PortSelection {
  readonly service?: string;
  readonly port?: string;
}

class Definitions {
  private readonly byKind = new Map<string, Map<string, XmlElement>>();

  constructor(roots: readonly XmlElement[]) {
    for (const root of roots) {
      const targetNamespace = root.attributes.get('targetNamespace') ?? '';
      for (const child of root.children) {
        const name = child.attributes.get('name');
        if (child.ns !== WSDL_NS || name === undefined) continue;
        let table = this.byKind.get(child.local);
        if (table === undefined) this.byKind.set(child.local, (table = new Map()));
        table.set(expandedName(targetNamespace, name), child);
      }
    }
  }

  all(kind: string): XmlElement[] {
    return [...(this.byKind.get(kind)?.values() ?? [])];
  }

  /** The `kind` (message, portType, binding) named by the QName attribute `qname` of `at`. */
  get(kind: string, at: XmlElement, qname: string): XmlElement {
    const { ns, local } = resolveQName(at, qname);
    const found = this.byKind.get(kind)?.get(expandedName(ns, local));
    if (found === undefined) throw new Error(`WSDL ${kind} ${qname} is not defined`);
    return found;
  }
}

export function compileWsdl(wsdl: LoadedWsdl, selection: PortSelection): CompiledPort {
  const definitions = new Definitions(wsdl.definitions);
  const schemas = new SchemaSet(wsdl.schemas);
  const { service, port, binding, version } = selectPort(definitions, selection);
  const bindingNs = version === '1.1' ? SOAP11_BINDING_NS : SOAP12_BINDING_NS;
  const portType = definitions.get('portType', binding, requiredAttribute(binding, 'type'));
  const defaultStyle = firstChild(binding, bindingNs, 'binding')?.attributes.get('style') ?? 'document';
  const refused: string[] = [];
  const operations = new Map<string, SoapOperation>();
  for (const bound of childrenNamed(binding, WSDL_NS, 'operation')) {
    const name = requiredAttribute(bound, 'name');
    const soapOperation = firstChild(bound, bindingNs, 'operation');
    const style = soapOperation?.attributes.get('style') ?? defaultStyle;
    const uses = (['input', 'output'] as const).map((direction) => {
      const body = bodyOf(bound, direction, bindingNs);
      return body?.attributes.get('use') ?? 'literal';
    });
    if (style !== 'document' || uses.some((use) => use !== 'literal')) {
      refused.push(`${name} (style=${style}, use=${uses.join('/')})`);
      continue;
    }
    const abstract = childrenNamed(portType, WSDL_NS, 'operation').find((op) => op.attributes.get('name') === name);
    if (abstract === undefined) throw new Error(`WSDL binding operation ${name} is not in portType ${portType.attributes.get('name')}`);
    operations.set(name, {
      name,
      soapAction: soapOperation?.attributes.get('soapAction') ?? '',
      input: messageParts(definitions, schemas, abstract, bound, 'input', bindingNs) ?? [],
      output: messageParts(definitions, schemas, abstract, bound, 'output', bindingNs),
      documentation: firstChild(abstract, WSDL_NS, 'documentation')?.text.trim() || undefined,
    });
  }
  if (refused.length > 0) {
    throw new Error(
      `WSDL binding ${binding.attributes.get('name')} is RPC and/or encoded for ${refused.join(', ')}: ` +
        'the bridge supports document/literal SOAP only (wrapped or bare)',
    );
  }
  const location = firstChild(port, bindingNs, 'address')?.attributes.get('location');
  return {
    service: requiredAttribute(service, 'name'),
    port: requiredAttribute(port, 'name'),
    version,
    address: location === undefined ? undefined : new URL(location),
    operations,
  };
}

function selectPort(definitions: Definitions, selection: PortSelection) {
  const candidates: { service: XmlElement; port: XmlElement; binding: XmlElement; version: SoapVersion }[] = [];
  for (const service of definitions.all('service')) {
    if (selection.service !== undefined && service.attributes.get('name') !== selection.service) continue;
    for (const port of childrenNamed(service, WSDL_NS, 'port')) {
      if (selection.port !== undefined && port.attributes.get('name') !== selection.port) continue;
      const binding = definitions.get('binding', port, requiredAttribute(port, 'binding'));
      if (firstChild(binding, SOAP11_BINDING_NS, 'binding') !== undefined) candidates.push({ service, port, binding, version: '1.1' });
      else if (firstChild(binding, SOAP12_BINDING_NS, 'binding') !== undefined) candidates.push({ service, port, binding, version: '1.2' });
    }
  }
  const chosen = candidates[0];
  if (chosen === undefined) {
    const wanted = [selection.service && `service ${selection.service}`, selection.port && `port ${selection.port}`].filter(Boolean).join(', ');
    throw new Error(`the WSDL has no SOAP port${wanted === '' ? '' : ` for ${wanted}`}`);
  }
  return chosen;
}

function bodyOf(bound: XmlElement, direction: 'input' | 'output', bindingNs: string): XmlElement | undefined {
  const message = firstChild(bound, WSDL_NS, direction);
  return message === undefined ? undefined : firstChild(message, bindingNs, 'body');
}

function messageParts(
  definitions: Definitions,
  schemas: SchemaSet,
  abstract: XmlElement,
  bound: XmlElement,
  direction: 'input' | 'output',
  bindingNs: string,
): BodyPart[] | undefined {
  const reference = firstChild(abstract, WSDL_NS, direction);
  if (reference === undefined) return undefined;
  const message = definitions.get('message', reference, requiredAttribute(reference, 'message'));
  const listed = bodyOf(bound, direction, bindingNs)?.attributes.get('parts')?.split(/\s+/).filter(Boolean);
  return childrenNamed(message, WSDL_NS, 'part')
    .filter((part) => listed === undefined || listed.includes(part.attributes.get('name') ?? ''))
    .map((part) => {
      const name = requiredAttribute(part, 'name');
      const element = part.attributes.get('element');
      if (element === undefined) throw new Error(`WSDL message part ${name} has a type, not an element: document/literal parts must name an element`);
      const { ns, local } = resolveQName(part, element);
      return { name, element: schemas.element(ns, local) };
    });
}

function requiredAttribute(element: XmlElement, name: string): string {
  const value = element.attributes.get(name);
  if (value === undefined) throw new Error(`WSDL ${element.local} has no ${name} attribute`);
  return value;
}
