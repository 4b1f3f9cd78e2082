// Hashes and HMACs over a string's UTF-8 bytes, hex-encoded, via node:crypto.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { define } from './support.js';

const hash = (name: string, algorithm: string) =>
  define(name, ['string'], ([text]) => createHash(algorithm).update(text as string, 'utf8').digest('hex'));

const hmac = (name: string, algorithm: string) =>
  define(name, ['string', 'string'], ([text, key]) =>
    createHmac(algorithm, Buffer.from(key as string, 'utf8')).update(text as string, 'utf8').digest('hex'),
  );

/** Compares two MACs in time independent of where they differ. */
function macsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

export const cryptoBuiltins = [
  hash('crypto.md5', 'md5'),
  hash('crypto.sha1', 'sha1'),
  hash('crypto.sha256', 'sha256'),
  hmac('crypto.hmac.md5', 'md5'),
  hmac('crypto.hmac.sha1', 'sha1'),
  hmac('crypto.hmac.sha256', 'sha256'),
  hmac('crypto.hmac.sha512', 'sha512'),
  define('crypto.hmac.equal', ['string', 'string'], ([a, b]) => macsEqual(a as string, b as string)),
];
