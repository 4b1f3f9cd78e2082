// A policy's result read as the OPA-Envoy plugin reads it (proxy/filters/authz/policy-decision.ts):
// every field's accepted shapes, and every other shape an error (which the filter turns into a deny).
import { describe, expect, it } from 'vitest';
import { DecisionShapeError, readDecision } from '../../../proxy/filters/authz/policy-decision.js';

const none = { httpStatus: undefined, headers: [], responseHeadersToAdd: [], requestHeadersToRemove: [], body: undefined, reason: undefined, rules: [] };

describe('readDecision', () => {
  it('reads true as a bare allow and false as a bare deny', () => {
    expect(readDecision(true)).toEqual({ allowed: true, ...none });
    expect(readDecision(false)).toEqual({ allowed: false, ...none });
    expect(Object.isFrozen(readDecision(true))).toBe(true);
    expect(Object.isFrozen(readDecision(false))).toBe(true);
  });

  it('reads an object with only allowed like the boolean', () => {
    expect(readDecision({ allowed: true })).toEqual({ allowed: true, ...none });
    expect(readDecision({ allowed: false })).toEqual({ allowed: false, ...none });
  });

  it('reads every field of a full decision', () => {
    expect(
      readDecision({
        allowed: false,
        http_status: 429,
        headers: { 'Retry-After': '5', 'X-Many': ['a', 'b'] },
        response_headers_to_add: { 'X-Why': 'quota' },
        request_headers_to_remove: ['X-Internal', 'cookie'],
        body: 'slow down',
        reason: 'quota exceeded',
        rule: 'quota.deny',
      }),
    ).toEqual({
      allowed: false,
      httpStatus: 429,
      headers: ['retry-after', '5', 'x-many', 'a', 'x-many', 'b'],
      responseHeadersToAdd: ['x-why', 'quota'],
      requestHeadersToRemove: ['x-internal', 'cookie'],
      body: 'slow down',
      reason: 'quota exceeded',
      rules: ['quota.deny'],
    });
  });

  it('takes HTTP statuses 200 to 599 and nothing else', () => {
    expect(readDecision({ allowed: false, http_status: 200 }).httpStatus).toBe(200);
    expect(readDecision({ allowed: false, http_status: 599 }).httpStatus).toBe(599);
    for (const status of [199, 600, 403.5, '403', null, 0, -403]) {
      expect(() => readDecision({ allowed: false, http_status: status }), String(status)).toThrow(new DecisionShapeError('decision.http_status is not an HTTP status'));
    }
  });

  it('refuses a decision that is neither a boolean nor an object, or whose allowed is not a boolean', () => {
    for (const value of [undefined, null, 'true', 1, [], [true]]) {
      expect(() => readDecision(value), JSON.stringify(value)).toThrow(new DecisionShapeError('decision is neither a boolean nor an object'));
    }
    for (const allowed of [undefined, 'true', 1, null]) {
      expect(() => readDecision({ allowed }), JSON.stringify(allowed)).toThrow(new DecisionShapeError('decision.allowed is not a boolean'));
    }
  });

  it('refuses header maps that are not objects, and headers that are not valid', () => {
    for (const headers of ['x: y', null, ['x', 'y'], 5]) {
      expect(() => readDecision({ allowed: true, headers }), JSON.stringify(headers)).toThrow(new DecisionShapeError('headers is not an object'));
      expect(() => readDecision({ allowed: true, response_headers_to_add: headers })).toThrow(new DecisionShapeError('response_headers_to_add is not an object'));
    }
    const invalid: Record<string, unknown>[] = [{ 'bad name': 'v' }, { 'x(y)': 'v' }, { '': 'v' }, { x: 'a\r\nb' }, { x: 'a\x00' }, { x: 'a\x7f' }, { x: 5 }, { x: ['a', 5] }, { x: null }];
    for (const headers of invalid) {
      expect(() => readDecision({ allowed: false, headers }), JSON.stringify(headers)).toThrow(DecisionShapeError);
    }
    expect(() => readDecision({ allowed: true, response_headers_to_add: { 'x y': 'v' } })).toThrow(new DecisionShapeError('response_headers_to_add.x y is not a valid header'));
  });

  it('takes every token character in a header name, and tabs, spaces and obs-text in a value', () => {
    const name = "!#$%&'*+.^_`|~09AZaz-";
    expect(readDecision({ allowed: true, headers: { [name]: '\t ~\x80\xff' } }).headers).toEqual([name.toLowerCase(), '\t ~\x80\xff']);
    expect(readDecision({ allowed: true, headers: { x: '' } }).headers).toEqual(['x', '']);
    expect(readDecision({ allowed: true, headers: { x: [] } }).headers).toEqual([]);
  });

  it('refuses request_headers_to_remove unless it is a list of names', () => {
    for (const remove of ['x-a', { 'x-a': true }, ['x-a', 5], [null], 0]) {
      expect(() => readDecision({ allowed: true, request_headers_to_remove: remove }), JSON.stringify(remove)).toThrow(
        new DecisionShapeError('decision.request_headers_to_remove is not a list of names'),
      );
    }
  });

  it('reads rule or rules, a string or a list (non-strings dropped), rule first', () => {
    expect(readDecision({ allowed: true, rules: ['a', 5, 'b'] }).rules).toEqual(['a', 'b']);
    expect(readDecision({ allowed: true, rules: 'a' }).rules).toEqual(['a']);
    expect(readDecision({ allowed: true, rule: 'r', rules: ['s'] }).rules).toEqual(['r']);
    expect(readDecision({ allowed: true, rule: 7 }).rules).toEqual([]);
  });

  it('ignores a body or reason that is not a string', () => {
    const decision = readDecision({ allowed: false, body: { text: 'x' }, reason: 42 });
    expect(decision.body).toBeUndefined();
    expect(decision.reason).toBeUndefined();
  });
});
