// XSD schemas (from a WSDL's types and the schemas it imports) compiled into the shapes the
// JSON <-> XML conversion walks: elements with their types, complex types as ordered fields
// (sequence order, occurrences, nillable; attributes, and the text of simple content, as fields
// too), simple types reduced to their built-in. Model groups and attribute groups are expanded
// where they are referred to. Compiled once at load; recursive types are one shared object
// referring to itself.
import { childrenNamed, expandedName, resolveQName, type XmlElement } from '../xml/xml-reader.js';
import { XSD_NS, type SimpleType } from './xsd-values.js';

/** The JSON name of a simple-content type's text (`$` cannot start an XML name, so it meets no attribute or element). */
export const TEXT_FIELD = '$value';

export interface Field {
  /** Where the value travels: a child element, an attribute, or the element's own text (simple content). */
  readonly carrier: 'element' | 'attribute' | 'text';
  readonly name: string;
  /** Namespace of the child element ('' when unqualified). */
  readonly ns: string;
  readonly type: XsdType;
  readonly minOccurs: number;
  /** `Infinity` for unbounded. */
  readonly maxOccurs: number;
  readonly nillable: boolean;
}

export interface ComplexType {
  readonly kind: 'complex';
  readonly name: string;
  /** In document order; filled once the type is compiled (a recursive type sees itself). */
  readonly fields: Field[];
}

export type XsdType = ComplexType | { readonly kind: 'simple'; readonly simple: SimpleType };

export interface ElementDeclaration {
  readonly name: string;
  readonly ns: string;
  readonly type: XsdType;
  readonly nillable: boolean;
}

/** A schema document with the target namespace it defines into (an include takes its includer's). */
export interface SchemaDocument {
  readonly schema: XmlElement;
  readonly targetNamespace: string;
}

interface Declared {
  readonly node: XmlElement;
  readonly document: SchemaDocument;
}

export class SchemaSet {
  private readonly elements = new Map<string, Declared>();
  private readonly complexTypes = new Map<string, Declared>();
  private readonly simpleTypes = new Map<string, Declared>();
  private readonly groups = new Map<string, Declared>();
  private readonly attributeGroups = new Map<string, Declared>();
  private readonly attributes = new Map<string, Declared>();
  private readonly compiled = new Map<XmlElement, XsdType>();
  /** Groups being expanded: one that refers to itself, however deep, is refused (not a stack overflow). */
  private readonly expanding = new Set<XmlElement>();
  private readonly compiledElements = new Map<string, ElementDeclaration>();

  constructor(documents: readonly SchemaDocument[]) {
    for (const document of documents) {
      for (const node of document.schema.children) {
        if (node.ns !== XSD_NS) continue;
        const name = node.attributes.get('name');
        if (name === undefined) continue;
        const table = {
          element: this.elements,
          complexType: this.complexTypes,
          simpleType: this.simpleTypes,
          group: this.groups,
          attributeGroup: this.attributeGroups,
          attribute: this.attributes,
        }[node.local];
        table?.set(expandedName(document.targetNamespace, name), { node, document });
      }
    }
  }

  /** The global element `{ns}local`, compiled. */
  element(ns: string, local: string): ElementDeclaration {
    const key = expandedName(ns, local);
    const cached = this.compiledElements.get(key);
    if (cached !== undefined) return cached;
    const declared = this.elements.get(key);
    if (declared === undefined) throw new Error(`XSD element ${key} is not defined in the WSDL's schemas`);
    const declaration: ElementDeclaration = {
      name: local,
      ns,
      type: this.elementType(declared.node, declared.document),
      nillable: declared.node.attributes.get('nillable') === 'true',
    };
    this.compiledElements.set(key, declaration);
    return declaration;
  }

  /** The named type `{ns}local` (e.g. an RPC part's type). */
  type(ns: string, local: string): XsdType {
    if (ns === XSD_NS) return { kind: 'simple', simple: { builtin: local } };
    const key = expandedName(ns, local);
    const complex = this.complexTypes.get(key);
    if (complex !== undefined) return this.complexType(complex.node, complex.document, local);
    const simple = this.simpleTypes.get(key);
    if (simple !== undefined) return { kind: 'simple', simple: this.simpleType(simple.node, simple.document) };
    throw new Error(`XSD type ${key} is not defined in the WSDL's schemas`);
  }

  private typeByQName(at: XmlElement, qname: string): XsdType {
    const { ns, local } = resolveQName(at, qname);
    return this.type(ns, local);
  }

  private elementType(node: XmlElement, document: SchemaDocument): XsdType {
    const typeName = node.attributes.get('type');
    if (typeName !== undefined) return this.typeByQName(node, typeName);
    const inlineComplex = childrenNamed(node, XSD_NS, 'complexType')[0];
    if (inlineComplex !== undefined) return this.complexType(inlineComplex, document, node.attributes.get('name') ?? 'anonymous');
    const inlineSimple = childrenNamed(node, XSD_NS, 'simpleType')[0];
    if (inlineSimple !== undefined) return { kind: 'simple', simple: this.simpleType(inlineSimple, document) };
    return { kind: 'simple', simple: { builtin: 'anyType' } };
  }

  private complexType(node: XmlElement, document: SchemaDocument, name: string): ComplexType {
    const cached = this.compiled.get(node);
    if (cached !== undefined) return cached as ComplexType;
    const type: ComplexType = { kind: 'complex', name, fields: [] };
    this.compiled.set(node, type);
    this.collectFields(node, document, type.fields, { optional: false, repeated: false });
    const names = type.fields.map((field) => field.name);
    const shared = names.filter((one, index) => names.indexOf(one) !== index);
    if (shared.length > 0) throw new Error(`XSD type ${name}: ${[...new Set(shared)].join(', ')} named twice (an attribute and an element share one JSON name)`);
    return type;
  }

  /** Expands a named model or attribute group, by the `ref` at `at`, into `into`. */
  private expandGroup(table: Map<string, Declared>, at: XmlElement, kind: string, into: Field[], outer: Occurrence): void {
    const ref = at.attributes.get('ref');
    if (ref === undefined) throw new Error(`an xs:${kind} inside a complex type must refer to a named one`);
    const { ns, local } = resolveQName(at, ref);
    const declared = table.get(expandedName(ns, local));
    if (declared === undefined) throw new Error(`XSD ${kind} ${expandedName(ns, local)} is not defined in the WSDL's schemas`);
    if (this.expanding.has(declared.node)) throw new Error(`XSD ${kind} ${expandedName(ns, local)} refers to itself`);
    this.expanding.add(declared.node);
    try {
      this.collectFields(declared.node, declared.document, into, outer);
    } finally {
      this.expanding.delete(declared.node);
    }
  }

  private collectFields(node: XmlElement, document: SchemaDocument, into: Field[], outer: Occurrence): void {
    for (const child of node.children) {
      if (child.ns !== XSD_NS) continue;
      switch (child.local) {
        case 'sequence':
        case 'all':
        case 'choice':
          this.collectFields(child, document, into, within(outer, child));
          break;
        case 'complexContent': {
          const derivation = child.children.find((c) => c.ns === XSD_NS && (c.local === 'extension' || c.local === 'restriction'));
          if (derivation === undefined) break;
          const base = derivation.attributes.get('base');
          if (derivation.local === 'extension' && base !== undefined) {
            const baseType = this.typeByQName(derivation, base);
            if (baseType.kind === 'complex') into.push(...baseType.fields);
          }
          this.collectFields(derivation, document, into, outer);
          break;
        }
        case 'simpleContent': {
          const derivation = child.children.find((c) => c.ns === XSD_NS && (c.local === 'extension' || c.local === 'restriction'));
          const base = derivation?.attributes.get('base');
          if (derivation === undefined || base === undefined) throw new Error('an xs:simpleContent without a base type');
          const baseType = this.typeByQName(derivation, base);
          // A restriction keeps the base's attributes except those it declares again (or prohibits).
          const redeclared = new Set(childrenNamed(derivation, XSD_NS, 'attribute').map((a) => a.attributes.get('name') ?? resolveQName(a, a.attributes.get('ref') ?? '').local));
          if (baseType.kind === 'complex') into.push(...baseType.fields.filter((field) => derivation.local === 'extension' || !redeclared.has(field.name)));
          else into.push({ carrier: 'text', name: TEXT_FIELD, ns: '', type: baseType, minOccurs: 0, maxOccurs: 1, nillable: false });
          this.collectFields(derivation, document, into, outer);
          break;
        }
        case 'group':
          this.expandGroup(this.groups, child, 'group', into, within(outer, child));
          break;
        case 'attributeGroup':
          this.expandGroup(this.attributeGroups, child, 'attributeGroup', into, outer);
          break;
        case 'element':
          into.push(this.field(child, document, outer));
          break;
        case 'attribute': {
          const attribute = this.attribute(child, document);
          if (attribute !== undefined) into.push(attribute);
          break;
        }
        case 'anyAttribute':
        case 'annotation':
        case 'any':
          break;
        default:
          throw new Error(`XSD construct xs:${child.local} in a complex type is not supported by the bridge`);
      }
    }
  }

  private field(node: XmlElement, document: SchemaDocument, outer: Occurrence): Field {
    const occurs = occurrences(node);
    const minOccurs = outer.optional ? 0 : occurs.min;
    const maxOccurs = outer.repeated ? Infinity : occurs.max;
    const ref = node.attributes.get('ref');
    if (ref !== undefined) {
      const { ns, local } = resolveQName(node, ref);
      const target = this.element(ns, local);
      return { carrier: 'element', name: local, ns, type: target.type, minOccurs, maxOccurs, nillable: target.nillable };
    }
    const name = node.attributes.get('name');
    if (name === undefined) throw new Error('an XSD element has neither name nor ref');
    const form = node.attributes.get('form') ?? document.schema.attributes.get('elementFormDefault') ?? 'unqualified';
    return {
      carrier: 'element',
      name,
      ns: form === 'qualified' ? document.targetNamespace : '',
      type: this.elementType(node, document),
      minOccurs,
      maxOccurs,
      nillable: node.attributes.get('nillable') === 'true',
    };
  }

  /** An attribute (declared here or a global one by `ref`) as a field; undefined when prohibited. */
  private attribute(node: XmlElement, document: SchemaDocument): Field | undefined {
    const use = node.attributes.get('use') ?? 'optional';
    if (use === 'prohibited') return undefined;
    const ref = node.attributes.get('ref');
    let declared: Declared = { node, document };
    let ns = '';
    if (ref !== undefined) {
      const name = resolveQName(node, ref);
      ns = name.ns;
      declared = this.attributes.get(expandedName(name.ns, name.local)) ?? declared;
      if (declared.node === node) throw new Error(`XSD attribute ${expandedName(name.ns, name.local)} is not defined in the WSDL's schemas`);
    } else if ((node.attributes.get('form') ?? document.schema.attributes.get('attributeFormDefault')) === 'qualified') {
      ns = document.targetNamespace;
    }
    const name = declared.node.attributes.get('name');
    if (name === undefined) throw new Error('an XSD attribute has neither name nor ref');
    const typeName = declared.node.attributes.get('type');
    const inline = childrenNamed(declared.node, XSD_NS, 'simpleType')[0];
    const type: XsdType =
      typeName !== undefined
        ? this.typeByQName(declared.node, typeName)
        : { kind: 'simple', simple: inline === undefined ? { builtin: 'string' } : this.simpleType(inline, declared.document) };
    if (type.kind !== 'simple') throw new Error(`XSD attribute ${name} has a complex type`);
    return { carrier: 'attribute', name, ns, type, minOccurs: use === 'required' ? 1 : 0, maxOccurs: 1, nillable: false };
  }

  private simpleType(node: XmlElement, document: SchemaDocument): SimpleType {
    const restriction = childrenNamed(node, XSD_NS, 'restriction')[0];
    if (restriction === undefined) return { builtin: 'string' };
    const base = restriction.attributes.get('base');
    const baseType: SimpleType =
      base === undefined
        ? this.simpleType(childrenNamed(restriction, XSD_NS, 'simpleType')[0] ?? restriction, document)
        : this.simpleBase(restriction, base);
    const values = childrenNamed(restriction, XSD_NS, 'enumeration').map((e) => e.attributes.get('value') ?? '');
    return values.length === 0 ? baseType : { builtin: baseType.builtin, enumeration: values };
  }

  private simpleBase(at: XmlElement, qname: string): SimpleType {
    const base = this.typeByQName(at, qname);
    return base.kind === 'simple' ? base.simple : { builtin: 'string' };
  }
}

/** Whether the fields collected at some depth may be absent or repeated, by the particles around them. */
interface Occurrence {
  readonly optional: boolean;
  readonly repeated: boolean;
}

/** The occurrence inside a particle (a sequence, choice, all or group reference) within `outer`. */
function within(outer: Occurrence, particle: XmlElement): Occurrence {
  const occurs = occurrences(particle);
  return { optional: outer.optional || occurs.min === 0 || particle.local === 'choice', repeated: outer.repeated || occurs.max > 1 };
}

function occurrences(node: XmlElement): { min: number; max: number } {
  const max = node.attributes.get('maxOccurs');
  return {
    min: Number(node.attributes.get('minOccurs') ?? '1'),
    max: max === 'unbounded' ? Infinity : Number(max ?? '1'),
  };
}
