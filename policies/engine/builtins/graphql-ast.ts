// GraphQL documents (parsed by graphql-js) in the JSON shape OPA's graphql.parse* return: that of
// gqlparser's AST (Operations, Fragments, SelectionSet, Value {Kind, Raw, Children}, ...), with
// positions, comments and empty lists left out as OPA leaves them out.
import { TypeKind } from 'graphql';
import type {
  ArgumentNode,
  ConstDirectiveNode,
  DefinitionNode,
  DirectiveNode,
  DocumentNode,
  FieldDefinitionNode,
  InputValueDefinitionNode,
  SelectionNode,
  TypeNode,
  ValueNode,
  VariableDefinitionNode,
} from 'graphql';

type Json = Record<string, unknown>;

/** gqlparser's ValueKind numbers. */
const VALUE_KINDS: Record<string, number> = {
  Variable: 0,
  IntValue: 1,
  FloatValue: 2,
  StringValue: 3,
  BooleanValue: 5,
  NullValue: 6,
  EnumValue: 7,
  ListValue: 8,
  ObjectValue: 9,
};

/** Members whose value is absent or an empty list are left out, as in OPA's output. */
function compact(fields: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) continue;
    out[key] = value;
  }
  return out;
}

function typeJson(type: TypeNode): Json {
  if (type.kind === 'NonNullType') return { ...typeJson(type.type), NonNull: true };
  if (type.kind === 'ListType') return { NamedType: '', Elem: typeJson(type.type), NonNull: false };
  return { NamedType: type.name.value, NonNull: false };
}

function valueJson(value: ValueNode): Json {
  const Kind = value.kind === 'StringValue' && value.block ? 4 : VALUE_KINDS[value.kind];
  switch (value.kind) {
    case 'Variable':
      return { Kind, Raw: value.name.value };
    case 'NullValue':
      return { Kind, Raw: 'null' };
    case 'BooleanValue':
      return { Kind, Raw: String(value.value) };
    case 'ListValue':
      return compact({ Kind, Raw: '', Children: value.values.map((v) => ({ Name: '', Value: valueJson(v) })) });
    case 'ObjectValue':
      return compact({ Kind, Raw: '', Children: value.fields.map((f) => ({ Name: f.name.value, Value: valueJson(f.value) })) });
    default:
      // Int, Float, String and Enum values: their text.
      return { Kind, Raw: (value as { value: string }).value };
  }
}

const argumentsJson = (args: readonly ArgumentNode[] | undefined) => args?.map((a) => ({ Name: a.name.value, Value: valueJson(a.value) }));
const directivesJson = (directives: readonly (DirectiveNode | ConstDirectiveNode)[] | undefined) =>
  directives?.map((d) => compact({ Name: d.name.value, Arguments: argumentsJson(d.arguments), Location: '' }));

function variableJson(variable: VariableDefinitionNode): Json {
  return compact({
    Variable: variable.variable.name.value,
    Type: typeJson(variable.type),
    DefaultValue: variable.defaultValue ? valueJson(variable.defaultValue) : undefined,
    Directives: directivesJson(variable.directives),
    Used: false,
  });
}

function selectionJson(selection: SelectionNode): Json {
  if (selection.kind === 'Field') {
    return compact({
        Alias: (selection.alias ?? selection.name).value,
        Name: selection.name.value,
        Arguments: argumentsJson(selection.arguments),
        Directives: directivesJson(selection.directives),
        SelectionSet: selection.selectionSet?.selections.map(selectionJson),
    });
  }
  if (selection.kind === 'FragmentSpread') return compact({ Name: selection.name.value, Directives: directivesJson(selection.directives) });
  return compact({
    TypeCondition: selection.typeCondition?.name.value ?? '',
    Directives: directivesJson(selection.directives),
    SelectionSet: selection.selectionSet.selections.map(selectionJson),
  });
}

/** A query document: `Operations` and `Fragments`. */
export function queryDocumentJson(document: DocumentNode): Json {
  const operations: Json[] = [];
  const fragments: Json[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === 'OperationDefinition') {
      operations.push(
        compact({
          Operation: definition.operation,
          Name: definition.name?.value ?? '',
          VariableDefinitions: definition.variableDefinitions?.map(variableJson),
          Directives: directivesJson(definition.directives),
          SelectionSet: definition.selectionSet.selections.map(selectionJson),
        }),
      );
    } else if (definition.kind === 'FragmentDefinition') {
      fragments.push(
        compact({
          Name: definition.name.value,
          // gqlparser's FragmentDefinition names its list in the singular.
          VariableDefinition: definition.variableDefinitions?.map(variableJson),
          TypeCondition: definition.typeCondition.name.value,
          Directives: directivesJson(definition.directives),
          SelectionSet: definition.selectionSet.selections.map(selectionJson),
        }),
      );
    }
  }
  return compact({ Operations: operations, Fragments: fragments });
}

function inputValueJson(input: InputValueDefinitionNode): Json {
  return compact({
    Description: input.description?.value ?? '',
    Name: input.name.value,
    DefaultValue: input.defaultValue ? valueJson(input.defaultValue) : undefined,
    Type: typeJson(input.type),
    Directives: directivesJson(input.directives),
  });
}

function fieldJson(field: FieldDefinitionNode): Json {
  return compact({
    Description: field.description?.value ?? '',
    Name: field.name.value,
    Arguments: field.arguments?.map(inputValueJson),
    Type: typeJson(field.type),
    Directives: directivesJson(field.directives),
  });
}

/** gqlparser's definition kinds are the introspection type kinds. */
const DEFINITION_KINDS: Record<string, TypeKind> = {
  ObjectType: TypeKind.OBJECT,
  InterfaceType: TypeKind.INTERFACE,
  UnionType: TypeKind.UNION,
  EnumType: TypeKind.ENUM,
  InputObjectType: TypeKind.INPUT_OBJECT,
  ScalarType: TypeKind.SCALAR,
};

function typeDefinitionJson(node: DefinitionNode): Json | undefined {
  const base = node.kind.replace(/Definition$|Extension$/, '');
  const kind = DEFINITION_KINDS[base];
  if (kind === undefined || !('name' in node) || node.name === undefined) return undefined;
  const n = node as DefinitionNode & Partial<Record<'description' | 'interfaces' | 'fields' | 'types' | 'values' | 'directives', unknown>>;
  const description = n.description as { value: string } | undefined;
  const fields = n.fields as readonly (FieldDefinitionNode | InputValueDefinitionNode)[] | undefined;
  return compact({
    Kind: kind,
    Description: description?.value ?? '',
    Name: node.name.value,
    Directives: directivesJson(n.directives as readonly ConstDirectiveNode[] | undefined),
    Interfaces: (n.interfaces as readonly { name: { value: string } }[] | undefined)?.map((i) => i.name.value),
    Fields: fields?.map((f) => (f.kind === 'FieldDefinition' ? fieldJson(f) : inputValueJson(f))),
    Types: (n.types as readonly { name: { value: string } }[] | undefined)?.map((t) => t.name.value),
    EnumValues: (n.values as readonly { name: { value: string }; description?: { value: string }; directives?: readonly ConstDirectiveNode[] }[] | undefined)?.map((e) =>
      compact({ Description: e.description?.value ?? '', Name: e.name.value, Directives: directivesJson(e.directives) }),
    ),
    BuiltIn: false,
  });
}

/** A schema document: `Schema`, `SchemaExtension`, `Directives`, `Definitions`, `Extensions`. */
export function schemaDocumentJson(document: DocumentNode): Json {
  const out: Record<string, Json[]> = { Schema: [], SchemaExtension: [], Directives: [], Definitions: [], Extensions: [] };
  for (const node of document.definitions) {
    if (node.kind === 'SchemaDefinition' || node.kind === 'SchemaExtension') {
      const entry = compact({
        Description: node.kind === 'SchemaDefinition' ? (node.description?.value ?? '') : '',
        Directives: directivesJson(node.directives),
        OperationTypes: node.operationTypes?.map((o) => ({ Operation: o.operation, Type: o.type.name.value })),
      });
      out[node.kind === 'SchemaDefinition' ? 'Schema' : 'SchemaExtension']!.push(entry);
    } else if (node.kind === 'DirectiveDefinition') {
      out['Directives']!.push(
        compact({
          Description: node.description?.value ?? '',
          Name: node.name.value,
          Arguments: node.arguments?.map(inputValueJson),
          Locations: node.locations.map((l) => l.value),
          IsRepeatable: node.repeatable,
        }),
      );
    } else {
      const definition = typeDefinitionJson(node);
      if (definition !== undefined) out[node.kind.endsWith('Extension') ? 'Extensions' : 'Definitions']!.push(definition);
    }
  }
  return compact(out);
}
