import { describe, expect, it } from 'vitest';
import { makeObject, makeSet, type Value } from '../../../policies/engine/value.js';
import { call, expectFailure, v } from './call-builtin.js';

// AWS's published Signature Version 4 test suite (get-vanilla, post-vanilla,
// post-x-www-form-urlencoded): its example credentials, time, region and service.
const awsSuite = v({ aws_access_key: 'AKIDEXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', aws_service: 'service', aws_region: 'us-east-1' });
const suiteTime = BigInt(Date.parse('2015-08-30T12:36:00Z')) * 1_000_000n;
const s3 = (extra: Record<string, unknown> = {}) => v({ aws_access_key: 'AKID', aws_secret_access_key: 'SECRET', aws_service: 's3', aws_region: 'eu-west-1', ...extra });
const time = 1_451_311_705_000_000_000n;

const headers = (result: Value | undefined) => call('object.get', result!, 'headers', null);
const header = (result: Value | undefined, name: string) => call('object.get', headers(result)!, name, null);
const signature = (result: Value | undefined) => /Signature=([0-9a-f]{64})$/.exec(header(result, 'Authorization') as string)![1];

describe('providers.aws.sign_req', () => {
  it("gives AWS's published signatures", () => {
    const credential = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';
    const get = call('providers.aws.sign_req', v({ method: 'GET', url: 'https://example.amazonaws.com/' }), awsSuite, suiteTime);
    expect(header(get, 'Authorization')).toBe(`${credential},SignedHeaders=host;x-amz-date,Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31`);
    expect(header(get, 'x-amz-date')).toBe('20150830T123600Z');
    expect(header(get, 'host')).toBe('example.amazonaws.com');
    const post = call('providers.aws.sign_req', v({ method: 'POST', url: 'https://example.amazonaws.com/' }), awsSuite, suiteTime);
    expect(signature(post)).toBe('5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b');
    const form = v({ method: 'POST', url: 'https://example.amazonaws.com/', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, raw_body: 'Param1=value1' });
    const signedForm = call('providers.aws.sign_req', form, awsSuite, suiteTime);
    expect(header(signedForm, 'Authorization')).toBe(`${credential},SignedHeaders=content-type;host;x-amz-date,Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a`);
    expect(header(signedForm, 'Content-Type')).toBe('application/x-www-form-urlencoded');
  });

  it('s3 signs the payload hash (a body as its JSON text), or UNSIGNED-PAYLOAD when payload signing is off', () => {
    const request = makeObject([['method', 'get'], ['url', 'https://bucket.example.com/key'], ['body', makeObject([['a', makeSet([2, 1])]])]]);
    const signed = call('providers.aws.sign_req', request, s3(), time);
    expect(header(signed, 'x-amz-content-sha256')).toBe(call('crypto.sha256', '{"a":[1,2]}'));
    expect(call('object.get', signed!, 'body', null)).toBe(call('object.get', request, 'body', null));
    const rawSame = call('providers.aws.sign_req', v({ method: 'get', url: 'https://bucket.example.com/key', raw_body: '{"a":[1,2]}' }), s3(), time);
    expect(signature(rawSame)).toBe(signature(signed));
    const unsigned = call('providers.aws.sign_req', request, s3({ disable_payload_signing: true }), time);
    expect(header(unsigned, 'x-amz-content-sha256')).toBe('UNSIGNED-PAYLOAD');
    expect(signature(unsigned)).not.toBe(signature(signed));
  });

  it('adds the session token, leaves proxy-mutable headers unsigned, and does not sign other services\' payload header', () => {
    const token = call('providers.aws.sign_req', v({ method: 'get', url: 'http://example.com' }), s3({ aws_session_token: 'TOKEN' }), time);
    expect(header(token, 'x-amz-security-token')).toBe('TOKEN');
    expect(header(token, 'Authorization')).toContain('SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,');
    const agent = call('providers.aws.sign_req', v({ method: 'get', url: 'http://example.com', headers: { 'User-Agent': 'x', 'X-Custom': 'y' } }), awsSuite, time);
    expect(header(agent, 'Authorization')).toContain('SignedHeaders=host;x-amz-date;x-custom,');
    expect(header(agent, 'User-Agent')).toBe('x');
    expect(header(agent, 'x-amz-content-sha256')).toBeNull();
  });

  it("refuses what OPA refuses, with OPA's messages", () => {
    const request = v({ method: 'get', url: 'http://example.com' });
    expectFailure('providers.aws.sign_req', [v({}), s3(), time], 'eval_type_error', 'providers.aws.sign_req: operand 1 missing required request parameters(s): {"method", "url"}');
    expectFailure('providers.aws.sign_req', [v({ method: 1, url: 'x' }), s3(), time], 'eval_type_error', 'operand 1 invalid values for required request parameters(s): {"method"}');
    expectFailure('providers.aws.sign_req', [request, v({ aws_service: 's3' }), time], 'eval_type_error', 'operand 2 missing required AWS config parameters(s): {"aws_access_key", "aws_region", "aws_secret_access_key"}');
    expectFailure('providers.aws.sign_req', [request, v({ aws_access_key: 1, aws_secret_access_key: 's', aws_service: 's3', aws_region: 2 }), time], 'eval_type_error', 'operand 2 invalid values for required AWS config parameters(s): {"aws_access_key", "aws_region"}');
    expectFailure('providers.aws.sign_req', [request, s3(), -1e9], 'eval_type_error', 'operand 3 could not convert time_ns value into a unix timestamp');
    expectFailure('providers.aws.sign_req', [request, s3(), 1.5], 'eval_type_error', 'operand 3 could not convert time_ns value into a unix timestamp');
    expectFailure('providers.aws.sign_req', [request, s3({ disable_payload_signing: 'false' }), time], 'eval_type_error', "operand 2 invalid value for 'disable_payload_signing' in AWS config");
  });
});
