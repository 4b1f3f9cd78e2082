// Reads a WSDL 1.1 by URL or file and everything it pulls in (wsdl:import, xsd:import and
// xsd:include with a location), each document once, to a depth limit, within a size and count
// budget. A document fetched over HTTP may only import over HTTP(S), and a file only files: a
// remote WSDL cannot make the sidecar read local files.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { childrenNamed, DEFAULT_XML_LIMITS, type XmlElement, parseXml } from '../xml/xml-reader.js';
import type { SchemaDocument } from './xsd-schema.js';
import { XSD_NS } from './xsd-values.js';

export const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';

export interface WsdlLoadLimits {
  /** How many imports deep from the WSDL itself (0: the WSDL only). */
  readonly maxDepth: number;
  readonly maxDocuments: number;
  readonly maxBytesPerDocument: number;
  readonly timeoutMs: number;
}

export const DEFAULT_WSDL_LOAD_LIMITS: WsdlLoadLimits = Object.freeze({
  maxDepth: 8,
  maxDocuments: 64,
  maxBytesPerDocument: 8 * 1024 * 1024,
  timeoutMs: 10_000,
});

export interface LoadedWsdl {
  /** The wsdl:definitions of the WSDL and of every wsdl:import. */
  readonly definitions: readonly XmlElement[];
  readonly schemas: readonly SchemaDocument[];
}

/** `location` is an http(s) URL, a file URL or a file path (relative to `baseDirectory`). */
export async function loadWsdl(location: string, baseDirectory: string, limits: WsdlLoadLimits = DEFAULT_WSDL_LOAD_LIMITS): Promise<LoadedWsdl> {
  const start = /^[a-z][a-z0-9+.-]*:\/\//i.test(location)
    ? new URL(location)
    : pathToFileURL(isAbsolute(location) ? location : resolve(baseDirectory, location));
  const seen = new Set<string>();
  const definitions: XmlElement[] = [];
  const schemas: SchemaDocument[] = [];

  const fetchOnce = async (url: URL, depth: number, from: URL | undefined): Promise<XmlElement | undefined> => {
    if (depth > limits.maxDepth) throw new Error(`WSDL imports are nested deeper than ${limits.maxDepth} at ${url.href}`);
    if (from !== undefined && isRemote(from) !== isRemote(url)) throw new Error(`${from.href} may not import ${url.href} (another kind of location)`);
    if (seen.has(url.href)) return undefined;
    if (seen.size >= limits.maxDocuments) throw new Error(`the WSDL pulls in more than ${limits.maxDocuments} documents`);
    seen.add(url.href);
    const bytes = await readDocument(url, limits);
    try {
      return parseXml(bytes, { ...DEFAULT_XML_LIMITS, maxBytes: limits.maxBytesPerDocument });
    } catch (error) {
      throw new Error(`${url.href}: ${(error as Error).message}`);
    }
  };

  const addSchema = async (schema: XmlElement, includerNamespace: string | undefined, base: URL, depth: number): Promise<void> => {
    const targetNamespace = schema.attributes.get('targetNamespace') ?? includerNamespace ?? '';
    schemas.push({ schema, targetNamespace });
    for (const reference of schema.children) {
      if (reference.ns !== XSD_NS || (reference.local !== 'import' && reference.local !== 'include')) continue;
      const schemaLocation = reference.attributes.get('schemaLocation');
      if (schemaLocation === undefined) continue;
      const url = new URL(schemaLocation, base);
      const imported = await fetchOnce(url, depth + 1, base);
      if (imported === undefined) continue;
      if (imported.ns !== XSD_NS || imported.local !== 'schema') throw new Error(`${url.href} is not an XSD schema`);
      await addSchema(imported, reference.local === 'include' ? targetNamespace : undefined, url, depth + 1);
    }
  };

  const addDefinitions = async (root: XmlElement, base: URL, depth: number): Promise<void> => {
    if (root.ns !== WSDL_NS || root.local !== 'definitions') throw new Error(`${base.href} is not a WSDL 1.1 document (root {${root.ns}}${root.local})`);
    definitions.push(root);
    for (const types of childrenNamed(root, WSDL_NS, 'types')) {
      for (const schema of childrenNamed(types, XSD_NS, 'schema')) await addSchema(schema, undefined, base, depth);
    }
    for (const wsdlImport of childrenNamed(root, WSDL_NS, 'import')) {
      const location = wsdlImport.attributes.get('location');
      if (location === undefined) continue;
      const url = new URL(location, base);
      const imported = await fetchOnce(url, depth + 1, base);
      if (imported === undefined) continue;
      if (imported.ns === XSD_NS && imported.local === 'schema') await addSchema(imported, undefined, url, depth + 1);
      else await addDefinitions(imported, url, depth + 1);
    }
  };

  const root = await fetchOnce(start, 0, undefined);
  await addDefinitions(root!, start, 0);
  return { definitions, schemas };
}

function isRemote(url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:';
}

async function readDocument(url: URL, limits: WsdlLoadLimits): Promise<Buffer> {
  if (url.protocol === 'file:') {
    const info = await stat(url);
    if (info.size > limits.maxBytesPerDocument) throw new Error(`${url.href} is over ${limits.maxBytesPerDocument} bytes`);
    return readFile(url);
  }
  if (!isRemote(url)) throw new Error(`cannot read a WSDL from ${url.href} (http, https or a file)`);
  const response = await request(url, { method: 'GET', headersTimeout: limits.timeoutMs, bodyTimeout: limits.timeoutMs });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limits.maxBytesPerDocument) {
      response.body.destroy();
      throw new Error(`${url.href} is over ${limits.maxBytesPerDocument} bytes`);
    }
    chunks.push(chunk);
  }
  if (response.statusCode !== 200) throw new Error(`${url.href} answered HTTP ${response.statusCode}`);
  return Buffer.concat(chunks);
}
