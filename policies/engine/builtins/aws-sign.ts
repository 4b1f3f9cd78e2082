// providers.aws.sign_req: AWS Signature Version 4 of an http.send-shaped request object, as OPA
// computes it (its canonical request uses the URL's path and query as written, unsorted). Pure
// computation: nothing is sent. The result is the request with its headers replaced by the
// signed set (the request's own headers, `Authorization`, `host`, `x-amz-date`, and for s3 and
// glacier `x-amz-content-sha256`, plus `x-amz-security-token` with a session token).
import { createHash, createHmac } from 'node:crypto';
import { isObject, makeObject, makeSet, ObjectBuilder, toJSONText, typeName, type RegoObject, type Value } from '../value.js';
import { regoText } from './value-text.js';
import { define, operandError } from './support.js';

const NAME = 'providers.aws.sign_req';
const REQUIRED_CONFIG = ['aws_access_key', 'aws_region', 'aws_secret_access_key', 'aws_service'];
const REQUIRED_REQUEST = ['method', 'url'];
/** Headers a proxy may change on the way, so never signed (as the AWS SDK and OPA). */
const UNSIGNED_HEADERS = new Set(['authorization', 'user-agent', 'x-amzn-trace-id']);
const MAX_INT64 = 2n ** 63n - 1n;

const stringOf = (value: Value | undefined): string => (typeof value === 'string' ? value : '');
const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();
const keySet = (keys: readonly string[]): string => regoText(makeSet(keys));

/** OPA's checks of one operand: missing keys first, then keys whose value is not a string. */
function checkKeys(object: RegoObject, required: readonly string[], position: number, what: string): void {
  const missing = required.filter((key) => object.get(key) === undefined);
  if (missing.length > 0) throw operandError(NAME, position, `missing required ${what} parameters(s): ${keySet(missing)}`);
  const invalid = required.filter((key) => typeof object.get(key) !== 'string');
  if (invalid.length > 0) throw operandError(NAME, position, `invalid values for required ${what} parameters(s): ${keySet(invalid)}`);
}

/** Host, path and query of a URL as written (Go's url.URL Host, EscapedPath and RawQuery). */
function urlParts(url: string): { host: string; path: string; query: string } {
  const match = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?/.exec(url)!;
  return { host: (match[1] ?? '').replace(/^.*@/, ''), path: match[2] ?? '', query: match[3] ?? '' };
}

function timestamp(value: Value): Date {
  if (typeof value !== 'number' && typeof value !== 'bigint') throw operandError(NAME, 3, `must be number but got ${typeName(value)}`);
  // OPA reads the number as an int64 of nanoseconds; a negative time is no signing time either.
  if ((typeof value === 'number' && !Number.isInteger(value)) || value < 0 || BigInt(value) > MAX_INT64) {
    throw operandError(NAME, 3, 'could not convert time_ns value into a unix timestamp');
  }
  return new Date(Number(BigInt(value) / 1_000_000n));
}

function signRequest(request: RegoObject, config: RegoObject, time: Date): Value {
  const service = config.get('aws_service') as string;
  const region = config.get('aws_region') as string;
  const sessionToken = stringOf(config.get('aws_session_token'));
  const unsignedPayload = config.get('disable_payload_signing') ?? false;
  if (typeof unsignedPayload !== 'boolean') throw operandError(NAME, 2, "invalid value for 'disable_payload_signing' in AWS config");
  const headersValue = request.get('headers') ?? makeObject([]);
  if (!isObject(headersValue)) throw operandError(NAME, 1, 'headers must be an object');
  const rawBody = request.get('raw_body');
  const body = request.get('body');
  const payload = rawBody !== undefined ? stringOf(rawBody) : body !== undefined ? toJSONText(body) : '';
  const payloadHash = unsignedPayload ? 'UNSIGNED-PAYLOAD' : sha256Hex(Buffer.from(payload, 'utf8'));

  const { host, path, query } = urlParts(request.get('url') as string);
  const iso = time.toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = iso.slice(0, 8);
  const awsHeaders = new Map<string, string>([['host', host], ['x-amz-date', iso]]);
  if (service === 's3' || service === 'glacier') awsHeaders.set('x-amz-content-sha256', payloadHash);
  if (sessionToken !== '') awsHeaders.set('x-amz-security-token', sessionToken);
  const requestHeaders = [...headersValue.entries()].map(([k, v]) => [stringOf(k), stringOf(v)] as const);
  const signed = new Map(awsHeaders);
  for (const [key, value] of requestHeaders) if (!UNSIGNED_HEADERS.has(key.toLowerCase())) signed.set(key.toLowerCase(), value);
  const names = [...signed.keys()].sort();
  const canonical = [
    request.get('method') as string,
    path,
    query,
    ...names.map((n) => `${n}:${signed.get(n)}`),
    '',
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', iso, scope, sha256Hex(canonical)].join('\n');
  let key = hmac(`AWS4${config.get('aws_secret_access_key') as string}`, day);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const signature = hmac(key, stringToSign).toString('hex');

  const headers = new ObjectBuilder();
  for (const [key, value] of requestHeaders) headers.set(key, value);
  headers.set('Authorization', `AWS4-HMAC-SHA256 Credential=${config.get('aws_access_key') as string}/${scope},SignedHeaders=${names.join(';')},Signature=${signature}`);
  for (const [key, value] of awsHeaders) headers.set(key, value);
  const out = new ObjectBuilder();
  for (const [key, value] of request.entries()) if (key !== 'headers') out.set(key, value);
  out.set('headers', headers.build());
  return out.build();
}

export const awsSignBuiltins = [
  define(NAME, ['object', 'object', 'number'], ([request, config, timeNs]) => {
    checkKeys(config as RegoObject, REQUIRED_CONFIG, 2, 'AWS config');
    const time = timestamp(timeNs!);
    checkKeys(request as RegoObject, REQUIRED_REQUEST, 1, 'request');
    return signRequest(request as RegoObject, config as RegoObject, time);
  }),
];
