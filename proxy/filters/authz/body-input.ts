// The request body in a policy's input, as the OPA-Envoy plugin gives it when Envoy sends it
// (`with_request_body`): `attributes.request.http.body` (the bytes as UTF-8 text; the first
// `maxBytes` when the body is longer and partial bodies are allowed), `truncated_body`, and
// `parsed_body` for JSON and form bodies (null for other types, an empty or a truncated body).
import type { BufferedBody } from '../../http/request-body.js';
import { parsedQuery } from './input-document.js';

export interface BodyInput {
  readonly text: string;
  readonly truncated: boolean;
  /** `parsed_body`, parsed when a policy first reads it; throws BodyParseError for bad JSON. */
  readonly parsed: () => unknown;
}

/** A JSON body that does not parse: as with OPA-Envoy, the decision fails, so it denies. */
export class BodyParseError extends Error {}

const none = (): null => null;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // V8's message quotes the body, which may hold secrets: the decision log gets no excerpt.
    throw new BodyParseError('request body is not valid JSON');
  }
}

function once(parse: () => unknown): () => unknown {
  let value: unknown;
  let parsed = false;
  return () => {
    if (!parsed) {
      value = parse();
      parsed = true;
    }
    return value;
  };
}

export function bodyInput(buffered: BufferedBody, maxBytes: number, contentType: string | undefined): BodyInput {
  const truncated = !buffered.complete;
  const text = (truncated ? buffered.bytes.subarray(0, maxBytes) : buffered.bytes).toString('utf8');
  const type = contentType?.toLowerCase();
  if (truncated || text === '' || type === undefined) return { text, truncated, parsed: none };
  if (type.includes('application/json')) return { text, truncated, parsed: once(() => parseJson(text)) };
  if (type.includes('application/x-www-form-urlencoded')) return { text, truncated, parsed: once(() => parsedQuery(text)) };
  return { text, truncated, parsed: none };
}
