// JSON Schema (2020-12, the dialect of OpenAPI 3.1) as the codecs build it for their operations.
export type JsonSchema = Readonly<Record<string, unknown>>;
