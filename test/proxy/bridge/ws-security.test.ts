import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EnvelopeBuilder } from '../../../proxy/filters/bridge/soap/soap-envelope.js';
import { usernameTokenHeader, WSSE_NS, WSU_NS } from '../../../proxy/filters/bridge/soap/ws-security.js';
import { parseXml, firstChild } from '../../../proxy/filters/bridge/xml/xml-reader.js';

function token(passwordType: 'PasswordText' | 'PasswordDigest', now?: Date) {
  const envelope = new EnvelopeBuilder('1.1');
  envelope.headerElement().appendChild(usernameTokenHeader(envelope, { username: 'bridge', password: 's3cret<&>', passwordType }, now));
  const root = parseXml(envelope.serialize());
  expect(root.children.map((child) => child.local)).toEqual(['Header', 'Body']);
  const security = firstChild(root.children[0]!, WSSE_NS, 'Security')!;
  return firstChild(security, WSSE_NS, 'UsernameToken')!;
}

describe('WS-Security UsernameToken', () => {
  it('sends PasswordText as the escaped password', () => {
    const element = token('PasswordText');
    expect(firstChild(element, WSSE_NS, 'Username')!.text).toBe('bridge');
    const password = firstChild(element, WSSE_NS, 'Password')!;
    expect(password.text).toBe('s3cret<&>');
    expect(password.attributes.get('Type')).toMatch(/username-token-profile-1.0#PasswordText$/);
    expect(firstChild(element, WSSE_NS, 'Nonce')).toBeUndefined();
  });

  it('sends PasswordDigest = Base64(SHA-1(raw nonce + created + password)) with a fresh nonce', () => {
    const element = token('PasswordDigest', new Date('2026-12-03T10:11:12.345Z'));
    const nonce = Buffer.from(firstChild(element, WSSE_NS, 'Nonce')!.text, 'base64');
    const created = firstChild(element, WSU_NS, 'Created')!.text;
    expect(nonce).toHaveLength(16);
    expect(created).toBe('2026-12-03T10:11:12Z');
    const expected = createHash('sha1').update(nonce).update(created).update('s3cret<&>').digest('base64');
    expect(firstChild(element, WSSE_NS, 'Password')!.text).toBe(expected);
    expect(firstChild(element, WSSE_NS, 'Password')!.attributes.get('Type')).toMatch(/#PasswordDigest$/);
    expect(firstChild(token('PasswordDigest'), WSSE_NS, 'Nonce')!.text).not.toBe(firstChild(element, WSSE_NS, 'Nonce')!.text);
  });
});
