// WS-Security UsernameToken (OASIS WSS 1.0 UsernameToken Profile) for SOAP upstreams that need
// it: PasswordText, or PasswordDigest = Base64(SHA-1(raw nonce + created + password)) with a fresh
// 16-byte nonce and the creation time on every request.
import type { Element } from '@xmldom/xmldom';
import { createHash, randomBytes } from 'node:crypto';
import type { ElementBuilder } from './xsd-json.js';

export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const BASE64_ENCODING = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

export interface UsernameTokenConfig {
  readonly username: string;
  readonly password: string;
  readonly passwordType: 'PasswordText' | 'PasswordDigest';
}

export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')])).digest('base64');
}

/** The wsse:Security header element, new nonce and time each call. */
export function usernameTokenHeader(builder: ElementBuilder, config: UsernameTokenConfig, now: Date = new Date()): Element {
  const text = (element: Element, value: string): Element => {
    element.appendChild(builder.document.createTextNode(value));
    return element;
  };
  const security = builder.element(WSSE_NS, 'Security');
  const token = builder.element(WSSE_NS, 'UsernameToken');
  security.appendChild(token);
  token.appendChild(text(builder.element(WSSE_NS, 'Username'), config.username));
  const password = builder.element(WSSE_NS, 'Password');
  password.setAttribute('Type', `${PROFILE}#${config.passwordType}`);
  token.appendChild(password);
  if (config.passwordType === 'PasswordText') {
    text(password, config.password);
    return security;
  }
  const nonce = randomBytes(16);
  const created = `${now.toISOString().slice(0, 19)}Z`;
  text(password, passwordDigest(nonce, created, config.password));
  const nonceElement = text(builder.element(WSSE_NS, 'Nonce'), nonce.toString('base64'));
  nonceElement.setAttribute('EncodingType', BASE64_ENCODING);
  token.appendChild(nonceElement);
  token.appendChild(text(builder.element(WSU_NS, 'Created'), created));
  return security;
}
