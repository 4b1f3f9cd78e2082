// JSON <-> XML by a compiled XSD type, and the JSON Schema of that mapping. JSON objects become
// child elements in the order of the type's sequence; fields with maxOccurs > 1 are JSON arrays;
// null is xsi:nil="true" where the field is nillable; a missing field is left out where
// minOccurs is 0. Attributes are properties of the object like child elements (as zeep maps
// them), the text of a simple-content type is its `$value`. Unknown JSON fields are refused
// (strict), unknown XML children and attributes are skipped. XML is built as a DOM
// (@xmldom/xmldom): names come from the schema, and every value is a text node or attribute
// value the serializer escapes.
import type { Document, Element } from '@xmldom/xmldom';
import type { JsonSchema } from '../json-schema.js';
import type { JsonObject, JsonValue } from '../codec.js';
import { expandedName, type XmlElement } from '../xml/xml-reader.js';
import type { ComplexType, Field, XsdType } from './xsd-schema.js';
import { jsonToXmlText, simpleTypeSchema, ValueMismatch, xmlTextToJson, XSI_NS } from './xsd-values.js';

/** Builds namespaced elements with a stable prefix per namespace (declared once on the root). */
export interface ElementBuilder {
  readonly document: Document;
  element(ns: string, local: string): Element;
  /** Sets an attribute, qualified by a prefix of the builder's when `ns` is not ''. */
  attribute(element: Element, ns: string, local: string, value: string): void;
}

/** A JSON value that does not fit the schema; `path` is a JSON pointer-like location. */
export class SchemaViolation extends Error {
  override readonly name = 'SchemaViolation';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path === '' ? '/' : path}: ${message}`);
  }
}

export function appendField(builder: ElementBuilder, parent: Element, field: Field, value: JsonValue | undefined, path: string): void {
  if (value === undefined) {
    if (field.minOccurs > 0) throw new SchemaViolation(path, 'is required');
    return;
  }
  if (field.carrier !== 'element') {
    if (value === null) throw new SchemaViolation(path, 'may not be null');
    const text = simpleText(field.type, value, path);
    if (field.carrier === 'attribute') builder.attribute(parent, field.ns, field.name, text);
    else parent.appendChild(builder.document.createTextNode(text));
    return;
  }
  if (field.maxOccurs > 1) {
    if (!Array.isArray(value)) throw new SchemaViolation(path, 'expected an array');
    if (value.length < field.minOccurs) throw new SchemaViolation(path, `expected at least ${field.minOccurs} items`);
    if (value.length > field.maxOccurs) throw new SchemaViolation(path, `expected at most ${field.maxOccurs} items`);
    value.forEach((item, index) => parent.appendChild(fieldElement(builder, field, item, `${path}/${index}`)));
    return;
  }
  parent.appendChild(fieldElement(builder, field, value, path));
}

function fieldElement(builder: ElementBuilder, field: Field, value: JsonValue, path: string): Element {
  const element = builder.element(field.ns, field.name);
  if (value === null) {
    if (!field.nillable) throw new SchemaViolation(path, 'may not be null');
    element.setAttributeNS(XSI_NS, 'xsi:nil', 'true');
    return element;
  }
  fillElement(builder, element, field.type, value, path);
  return element;
}

/** Fills `element` with `value` as `type`: text for a simple type, child elements for a complex one. */
export function fillElement(builder: ElementBuilder, element: Element, type: XsdType, value: JsonValue, path: string): void {
  if (type.kind === 'simple') {
    element.appendChild(builder.document.createTextNode(simpleText(type, value, path)));
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SchemaViolation(path, `expected an object (${type.name})`);
  appendFields(builder, element, type, value, path);
}

function simpleText(type: XsdType, value: JsonValue, path: string): string {
  if (type.kind !== 'simple') throw new SchemaViolation(path, `expected an object (${type.name})`);
  try {
    return jsonToXmlText(type.simple, value);
  } catch (error) {
    if (error instanceof ValueMismatch) throw new SchemaViolation(path, error.message);
    throw error;
  }
}

export function appendFields(builder: ElementBuilder, parent: Element, type: ComplexType, value: JsonObject, path: string): void {
  const known = new Set(type.fields.map((field) => field.name));
  const unknown = Object.keys(value).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new SchemaViolation(path, `unknown field(s) ${unknown.join(', ')} for ${type.name}`);
  // Attributes first: the DOM does not care, but a reader of the built XML sees them with their element.
  for (const field of type.fields) if (field.carrier === 'attribute') appendField(builder, parent, field, value[field.name], `${path}/${field.name}`);
  for (const field of type.fields) if (field.carrier !== 'attribute') appendField(builder, parent, field, value[field.name], `${path}/${field.name}`);
}

/** An element's content read as `type`; throws `ValueMismatch` on a malformed value. */
export function elementToJson(element: XmlElement, type: XsdType): JsonValue {
  if (element.attributes.get(expandedName(XSI_NS, 'nil')) === 'true') return null;
  if (type.kind === 'simple') return xmlTextToJson(type.simple, element.text);
  return fieldsToJson(element, type);
}

export function fieldsToJson(element: XmlElement, type: ComplexType): JsonObject {
  const result: JsonObject = {};
  for (const field of type.fields) {
    if (field.carrier !== 'element') {
      // An attribute's or simple content's type is simple (the schema compiler sees to it).
      const text = field.carrier === 'text' ? element.text : element.attributes.get(expandedName(field.ns, field.name));
      if (text !== undefined && field.type.kind === 'simple') result[field.name] = xmlTextToJson(field.type.simple, text);
      continue;
    }
    const matching = element.children.filter((child) => child.local === field.name && child.ns === field.ns);
    if (field.maxOccurs > 1) result[field.name] = matching.map((child) => elementToJson(child, field.type));
    else if (matching[0] !== undefined) result[field.name] = elementToJson(matching[0], field.type);
  }
  return result;
}

/**
 * Named JSON Schemas of complex types, referred to as `${refPrefix}${name}`: each type once
 * (recursive types refer to themselves), types of the same name in two namespaces told apart.
 */
export class SchemaDefinitions {
  readonly schemas = new Map<string, JsonSchema>();
  private readonly names = new Map<ComplexType, string>();

  constructor(private readonly refPrefix: string) {}

  typeSchema(type: XsdType): JsonSchema {
    if (type.kind === 'simple') return simpleTypeSchema(type.simple);
    let name = this.names.get(type);
    if (name === undefined) {
      name = type.name;
      for (let n = 2; this.schemas.has(name); n++) name = `${type.name}${n}`;
      this.names.set(type, name);
      this.schemas.set(name, {});
      this.schemas.set(name, this.fieldsSchema(type));
    }
    return { $ref: `${this.refPrefix}${name}` };
  }

  fieldsSchema(type: ComplexType): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    for (const field of type.fields) {
      const item = this.typeSchema(field.type);
      const nullable = field.nillable ? { anyOf: [item, { type: 'null' }] } : item;
      properties[field.name] =
        field.maxOccurs > 1
          ? { type: 'array', items: nullable, minItems: field.minOccurs, ...(field.maxOccurs === Infinity ? {} : { maxItems: field.maxOccurs }) }
          : nullable;
    }
    const required = type.fields.filter((field) => field.minOccurs > 0).map((field) => field.name);
    return { type: 'object', additionalProperties: false, properties, ...(required.length === 0 ? {} : { required }) };
  }
}
