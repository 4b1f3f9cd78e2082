// The request body in a policy's input, as the OPA-Envoy plugin gives it when Envoy sends it
// (`with_request_body`): `attributes.request.http.body` (the bytes as UTF-8 text; the first
// `maxBytes` when the body is longer and partial bodies are allowed), `truncated_body`, and
// `parsed_body` for JSON (`application/json`, `application/*+json`) and form bodies (null for
// an empty body). One request, one meaning: a policy that reads the body must read what the app
// will, so whatever the sidecar cannot read as the app would fails the decision instead of
// reading as null or as other text (fail closed, AUTHZ_BODY_UNREADABLE): `parsed_body` of any
// other content type, of no or several content types, of a charset other than UTF-8, of invalid
// UTF-8 or JSON, or of a truncated body; and `parsed_body` or the text of a content-encoded
// (gzip...) body.
import type { BufferedBody } from '../../http/request-body.js';
import { parsedQuery } from './input-document.js';

export interface BodyInput {
  /** The body as UTF-8 text; throws BodyUnreadableError for a content-encoded body. */
  readonly text: () => string;
  readonly truncated: boolean;
  /** `parsed_body`, parsed when a policy first reads it; throws BodyUnreadableError. */
  readonly parsed: () => unknown;
}

/** A policy read a body the sidecar cannot read as the app will: the decision fails (denies). */
export class BodyUnreadableError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const readableCharsets = new Set(['utf-8', 'utf8', 'us-ascii']);

interface MediaType {
  /** `type/subtype`, lower-case. */
  readonly essence: string;
  readonly charset: string | undefined;
}

function mediaType(value: string): MediaType {
  const [essence, ...parameters] = value.split(';');
  let charset: string | undefined;
  for (const parameter of parameters) {
    const eq = parameter.indexOf('=');
    if (eq !== -1 && parameter.slice(0, eq).trim().toLowerCase() === 'charset') {
      charset = parameter.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    }
  }
  return { essence: essence!.trim().toLowerCase(), charset };
}

function isJson(essence: string): boolean {
  return essence === 'application/json' || (essence.startsWith('application/') && essence.endsWith('+json'));
}

function allValues(headers: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) values.push(headers[i + 1]!);
  return values;
}

function unreadable(reason: string): never {
  throw new BodyUnreadableError(reason);
}

function parse(bytes: Buffer, truncated: boolean, headers: readonly string[]): unknown {
  if (truncated) unreadable('request body is truncated at maxBytes: parsed_body cannot be read');
  if (bytes.length === 0) return null;
  const types = allValues(headers, 'content-type');
  if (types.length !== 1) unreadable(types.length === 0 ? 'request body has no content type' : 'request body has several content types');
  const type = mediaType(types[0]!);
  if (type.charset !== undefined && !readableCharsets.has(type.charset)) unreadable(`request body charset ${type.charset} is not UTF-8`);
  const json = isJson(type.essence);
  if (!json && type.essence !== 'application/x-www-form-urlencoded') unreadable(`request body of type ${type.essence} cannot be parsed`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    unreadable('request body is not valid UTF-8');
  }
  if (!json) return parsedQuery(text);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // V8's message quotes the body, which may hold secrets: the decision log gets no excerpt.
    unreadable('request body is not valid JSON');
  }
}

function once<T>(read: () => T): () => T {
  let value: T;
  let done = false;
  return () => {
    if (!done) {
      value = read();
      done = true;
    }
    return value;
  };
}

export function bodyInput(buffered: BufferedBody, maxBytes: number, headers: readonly string[]): BodyInput {
  const truncated = !buffered.complete;
  const bytes = truncated ? buffered.bytes.subarray(0, maxBytes) : buffered.bytes;
  const encodings = allValues(headers, 'content-encoding').filter((value) => value.trim().toLowerCase() !== 'identity');
  if (encodings.length > 0) {
    const encoded = (): never => unreadable(`request body is content-encoded (${encodings.join(', ')}): policies cannot read it`);
    return { text: encoded, truncated, parsed: encoded };
  }
  return { text: once(() => bytes.toString('utf8')), truncated, parsed: once(() => parse(bytes, truncated, headers)) };
}
