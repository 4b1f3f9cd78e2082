import { describe, expect, it } from 'vitest';
import { call, expectFailure } from './call-builtin.js';

describe('crypto builtins', () => {
  it('hashes UTF-8 text to hex', () => {
    expect(call('crypto.md5', 'abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(call('crypto.sha1', 'abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(call('crypto.sha256', 'abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // md5 of the bytes c3 a9 (UTF-8), not of the single Latin-1 byte e9.
    expect(call('crypto.md5', 'é')).toBe('66ddcd97cfdeabb2f6fb8a999b4bc76f');
  });

  it('computes HMACs (RFC 4231 case 2) and compares them in constant time', () => {
    const data = 'what do ya want for nothing?';
    expect(call('crypto.hmac.sha256', data, 'Jefe')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(call('crypto.hmac.sha512', data, 'Jefe')).toBe(
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    );
    expect(call('crypto.hmac.md5', data, 'Jefe')).toBe('750c783e6ab0b503eaa86e310a5db738');
    expect(call('crypto.hmac.sha1', data, 'Jefe')).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
    expect(call('crypto.hmac.equal', 'abc', 'abc')).toBe(true);
    expect(call('crypto.hmac.equal', 'abc', 'abd')).toBe(false);
    expect(call('crypto.hmac.equal', 'abc', 'abcd')).toBe(false);
    expectFailure('crypto.hmac.sha256', ['x', 1], 'eval_type_error', 'crypto.hmac.sha256: operand 2 must be string but got number');
  });
});
