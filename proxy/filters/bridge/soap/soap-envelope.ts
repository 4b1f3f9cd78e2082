// SOAP 1.1 and 1.2 envelopes: built as a DOM and serialized by @xmldom/xmldom, and read back
// from the legacy response with the hardened reader. A fault is found by parsing the envelope,
// whatever the HTTP status (servers send faults with 200 as well as 500), and classified:
// Client/Sender faults are the caller's (400 unless the fault table says otherwise), all others
// the legacy system's (502, the fault kept in the body).
import { DOMImplementation, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { BridgeError, type LegacyFault } from '../bridge-errors.js';
import { childrenNamed, firstChild, resolveQName, XmlRejected, type XmlElement, type XmlLimits, parseXml } from '../xml/xml-reader.js';
import type { ElementBuilder } from './xsd-json.js';
import type { SoapVersion } from './wsdl-compiler.js';
import { XSI_NS } from './xsd-values.js';

export const SOAP11_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_ENVELOPE_NS = 'http://www.w3.org/2003/05/soap-envelope';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export function envelopeNamespace(version: SoapVersion): string {
  return version === '1.1' ? SOAP11_ENVELOPE_NS : SOAP12_ENVELOPE_NS;
}

/** An envelope being built: `header` and `body` to append to, then `serialize`. */
export class EnvelopeBuilder implements ElementBuilder {
  readonly document: Document;
  readonly body: Element;
  private header: Element | undefined;
  private readonly root: Element;
  private readonly prefixes = new Map<string, string>();
  private readonly envelopeNs: string;

  constructor(version: SoapVersion) {
    this.envelopeNs = envelopeNamespace(version);
    this.document = new DOMImplementation().createDocument(this.envelopeNs, 'soap:Envelope', null);
    this.root = this.document.documentElement!;
    this.prefixes.set(this.envelopeNs, 'soap');
    this.prefixes.set(XSI_NS, 'xsi');
    this.root.setAttributeNS(XMLNS_NS, 'xmlns:xsi', XSI_NS);
    this.body = this.element(this.envelopeNs, 'Body');
    this.root.appendChild(this.body);
  }

  /** Every namespaced element gets a prefix (never a default namespace, so unqualified children stay unqualified). */
  element(ns: string, local: string): Element {
    if (ns === '') return this.document.createElementNS(null, local);
    return this.document.createElementNS(ns, `${this.prefix(ns)}:${local}`);
  }

  attribute(element: Element, ns: string, local: string, value: string): void {
    if (ns === '') element.setAttributeNS(null, local, value);
    else element.setAttributeNS(ns, `${this.prefix(ns)}:${local}`, value);
  }

  /** The namespace's prefix, declared on the envelope the first time it is used. */
  private prefix(ns: string): string {
    let prefix = this.prefixes.get(ns);
    if (prefix === undefined) {
      prefix = `ns${this.prefixes.size - 2}`;
      this.prefixes.set(ns, prefix);
      this.root.setAttributeNS(XMLNS_NS, `xmlns:${prefix}`, ns);
    }
    return prefix;
  }

  /** The soap:Header, created before the Body on first use. */
  headerElement(): Element {
    if (this.header === undefined) {
      this.header = this.element(this.envelopeNs, 'Header');
      this.root.insertBefore(this.header, this.body);
    }
    return this.header;
  }

  serialize(): string {
    return `<?xml version="1.0" encoding="utf-8"?>${new XMLSerializer().serializeToString(this.document)}`;
  }
}

/** A SOAP fault as found in a response, before it is mapped to a status. */
export interface SoapFault extends LegacyFault {
  /** The fault's class: Client/Sender, Server/Receiver, VersionMismatch, MustUnderstand... */
  readonly kind: string;
  /** The detail element's text content, for the log only. */
  readonly detail: string | undefined;
}

/** Reads the response envelope: the Body's elements, or a thrown `BridgeError` for a fault. */
export function readEnvelope(version: SoapVersion, bytes: Buffer, limits: XmlLimits, faultStatus: (fault: SoapFault) => number | undefined): XmlElement[] {
  let root: XmlElement;
  try {
    root = parseXml(bytes, limits);
  } catch (error) {
    if (error instanceof XmlRejected) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `legacy response refused: ${error.message}`, { cause: error });
    throw error;
  }
  const envelopeNs = envelopeNamespace(version);
  if (root.local !== 'Envelope' || root.ns !== envelopeNs) {
    throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `legacy response is not a SOAP ${version} envelope (root {${root.ns}}${root.local})`);
  }
  const body = firstChild(root, envelopeNs, 'Body');
  if (body === undefined) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', 'legacy response envelope has no Body');
  const faultElement = firstChild(body, envelopeNs, 'Fault');
  if (faultElement !== undefined) {
    const fault = version === '1.1' ? readFault11(faultElement) : readFault12(faultElement);
    const clientFault = fault.kind === 'Client' || fault.kind === 'Sender';
    const status = faultStatus(fault) ?? (clientFault ? 400 : 502);
    const { kind: _kind, detail, ...shown } = fault;
    throw new BridgeError(clientFault ? 'LEGACY_CLIENT_FAULT' : 'LEGACY_SERVER_FAULT', fault.message, {
      status,
      fault: shown,
      cause: detail === undefined ? undefined : new Error(`fault detail: ${detail}`),
    });
  }
  return body.children;
}

function readFault11(fault: XmlElement): SoapFault {
  // faultcode is a QName whose local part may carry dotted refinements: Client.NotFound.
  // Its children are unqualified by the spec; some servers qualify them all the same.
  const part = (local: string): XmlElement | undefined => fault.children.find((child) => child.local === local);
  const codeElement = part('faultcode');
  const codeText = codeElement?.text.trim();
  const local = codeText === undefined ? 'Server' : safeLocal(codeElement!, codeText);
  const [kind, ...subcodes] = local.split('.');
  return {
    kind: kind ?? 'Server',
    code: local,
    ...(subcodes.length === 0 ? {} : { subcodes }),
    message: part('faultstring')?.text.trim() ?? '',
    detail: part('detail') === undefined ? undefined : deepText(part('detail')!),
  };
}

function readFault12(fault: XmlElement): SoapFault {
  const ns = SOAP12_ENVELOPE_NS;
  const code = firstChild(fault, ns, 'Code');
  const kind = code === undefined ? 'Receiver' : safeLocal(code, childText(code, ns, 'Value') ?? 'Receiver');
  const subcodes: string[] = [];
  for (let sub = code && firstChild(code, ns, 'Subcode'); sub !== undefined; sub = firstChild(sub, ns, 'Subcode')) {
    const value = childText(sub, ns, 'Value');
    if (value !== undefined) subcodes.push(safeLocal(sub, value));
  }
  const texts = childrenNamed(firstChild(fault, ns, 'Reason') ?? fault, ns, 'Text');
  const reason = texts.find((text) => text.attributes.get('{http://www.w3.org/XML/1998/namespace}lang')?.startsWith('en')) ?? texts[0];
  const detail = firstChild(fault, ns, 'Detail');
  return {
    kind,
    code: [kind, ...subcodes].join('.'),
    ...(subcodes.length === 0 ? {} : { subcodes }),
    message: reason?.text.trim() ?? '',
    detail: detail === undefined ? undefined : deepText(detail),
  };
}

function childText(element: XmlElement, ns: string, local: string): string | undefined {
  return firstChild(element, ns, local)?.text.trim();
}

function safeLocal(at: XmlElement, qname: string): string {
  try {
    return resolveQName(at, qname).local;
  } catch {
    return qname.slice(qname.indexOf(':') + 1);
  }
}

function deepText(element: XmlElement): string {
  return [element.text, ...element.children.map(deepText)].join('').trim();
}
