// Where a request carries its token: the headers and cookies the rules name, else
// `Authorization: Bearer`. The first one present is used.
import { headerValue } from '../../http/headers.js';
import type { JwtRuleConfig } from './jwt-config.js';

const defaultHeaders = [{ name: 'authorization', prefix: 'Bearer ' }];

function cookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The token and the header it came in (to strip it unless forwarded). */
export function tokenFrom(headers: readonly string[], rules: readonly JwtRuleConfig[]): { token: string; header: string } | undefined {
  for (const rule of rules) {
    for (const source of rule.fromHeaders ?? (rule.fromCookies === undefined ? defaultHeaders : [])) {
      const name = source.name.toLowerCase();
      const value = headerValue(headers, name);
      if (value === undefined) continue;
      const prefix = source.prefix ?? '';
      if (value.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) continue;
      return { token: value.slice(prefix.length).trim(), header: name };
    }
    const cookies = headerValue(headers, 'cookie');
    if (cookies === undefined) continue;
    for (const name of rule.fromCookies ?? []) {
      const value = cookie(cookies, name);
      if (value !== undefined) return { token: value, header: 'cookie' };
    }
  }
  return undefined;
}
