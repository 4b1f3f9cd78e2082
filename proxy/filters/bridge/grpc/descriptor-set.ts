// A protobuf descriptor set (`protoc --include_imports --descriptor_set_out`) read with protobufjs:
// the message and service types (protobufjs/ext/descriptor), and what protobufjs drops on the
// way, read from the same bytes: each method's `google.api.http` rule (an extension of
// MethodOptions, decoded by adding it to a private copy of descriptor.proto's types) and which
// nested types are map entries (protobufjs turns `map<K, V>` into repeated entry messages).
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs') as typeof Protobuf;
const descriptorTypes = require('protobufjs/ext/descriptor') as { FileDescriptorSet: Protobuf.Type };

/** google.api.HttpRule as decoded (proto field names). */
export interface HttpRule {
  readonly get?: string;
  readonly put?: string;
  readonly post?: string;
  readonly delete?: string;
  readonly patch?: string;
  readonly custom?: { readonly kind?: string; readonly path?: string };
  readonly body?: string;
  readonly response_body?: string;
  readonly additional_bindings?: readonly HttpRule[];
}

export interface DescriptorSet {
  readonly root: Protobuf.Root;
  /** `package.Service.Method` -> its rule. */
  readonly httpRules: ReadonlyMap<string, HttpRule>;
  /** Full names (leading dot) of the map entry types. */
  readonly mapEntries: ReadonlySet<string>;
}

const HTTP_RULE_EXTENSION = 72295728;

/** descriptor.proto's types with google.api.http on MethodOptions, built once. */
let annotatedSetType: Protobuf.Type | undefined;

function annotatedFileDescriptorSet(): Protobuf.Type {
  if (annotatedSetType !== undefined) return annotatedSetType;
  const root = protobuf.Root.fromJSON(descriptorTypes.FileDescriptorSet.root.toJSON());
  const string = (id: number) => ({ type: 'string', id });
  root.define('google.api').addJSON({
    HttpRule: {
      fields: {
        get: string(2),
        put: string(3),
        post: string(4),
        delete: string(5),
        patch: string(6),
        body: string(7),
        custom: { type: 'CustomHttpPattern', id: 8 },
        additional_bindings: { rule: 'repeated', type: 'HttpRule', id: 11 },
        response_body: string(12),
      },
    },
    CustomHttpPattern: { fields: { kind: string(1), path: string(2) } },
  });
  root.lookupType('google.protobuf.MethodOptions').add(new protobuf.Field('.google.api.http', HTTP_RULE_EXTENSION, 'google.api.HttpRule'));
  root.resolveAll();
  return (annotatedSetType = root.lookupType('google.protobuf.FileDescriptorSet'));
}

interface DecodedMessageType {
  readonly name: string;
  readonly nestedType?: readonly DecodedMessageType[];
  readonly options?: { readonly mapEntry?: boolean };
}

interface DecodedFile {
  readonly package?: string;
  readonly messageType?: readonly DecodedMessageType[];
  readonly service?: readonly { readonly name: string; readonly method?: readonly { readonly name: string; readonly options?: Record<string, unknown> }[] }[];
}

function collectMapEntries(prefix: string, types: readonly DecodedMessageType[] | undefined, into: Set<string>): void {
  for (const type of types ?? []) {
    const name = `${prefix}.${type.name}`;
    if (type.options?.mapEntry === true) into.add(name);
    collectMapEntries(name, type.nestedType, into);
  }
}

/** Reads a descriptor set; throws when the bytes are not one or its types do not resolve. */
export function readDescriptorSet(bytes: Uint8Array): DescriptorSet {
  const set = annotatedFileDescriptorSet().decode(bytes) as unknown as { file: DecodedFile[] };
  const httpRules = new Map<string, HttpRule>();
  const mapEntries = new Set<string>();
  for (const file of set.file) {
    const prefix = file.package === undefined || file.package === '' ? '' : `.${file.package}`;
    collectMapEntries(prefix, file.messageType, mapEntries);
    for (const service of file.service ?? []) {
      for (const method of service.method ?? []) {
        const rule = method.options?.['.google.api.http'] as HttpRule | undefined;
        if (rule !== undefined) httpRules.set(`${prefix}.${service.name}.${method.name}`.slice(1), rule);
      }
    }
  }
  const root = (protobuf.Root as unknown as { fromDescriptor(set: unknown): Protobuf.Root }).fromDescriptor(set);
  root.resolveAll();
  return { root, httpRules, mapEntries };
}
