// The `bridge` filter's config: bridges in the shape of the LegacyBridge resource's spec (one
// schema, control-plane/api/schemas/legacy-bridge.json), each with a name.
import legacyBridgeSchema from '../../../control-plane/api/schemas/legacy-bridge.json' with { type: 'json' };
import type { LegacyBridgeSpec } from '../../../control-plane/api/resource-types.js';

export interface BridgeConfig extends LegacyBridgeSpec {
  readonly name: string;
}

const specSchema = legacyBridgeSchema.properties.spec;
export const bridgeConfigSchema = {
  type: 'object',
  required: ['bridges'],
  additionalProperties: false,
  properties: {
    bridges: {
      type: 'array',
      minItems: 1,
      items: { ...specSchema, required: ['name', ...specSchema.required], properties: { name: { type: 'string', minLength: 1 }, ...specSchema.properties } },
    },
  },
} as const;

