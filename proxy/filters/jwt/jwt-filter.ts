// End-user authentication (RequestAuthentication): a token from `Authorization: Bearer`, another
// header or a cookie is verified with jose against the rule for its issuer (audiences, JWKS from
// a URI or inline, clock skew). A token that does not verify is refused with 401 JWT_INVALID; no
// token lets the request through with no end user (policies decide), as Istio does. Only
// asymmetric algorithms are accepted, so `alg: none` and HS256-signed-with-the-public-key
// (algorithm confusion) never verify.
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { FilterExchange, FilterOutcome, HttpFilter, HttpFilterFactory } from '../http-filter.js';
import { CONTINUE } from '../http-filter.js';
import { removeHeader } from '../../http/headers.js';
import { jwtConfigSchema, type JwtConfig, type JwtRuleConfig } from './jwt-config.js';
import { tokenFrom } from './token-source.js';

export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

interface Verifier {
  readonly rule: JwtRuleConfig;
  readonly keys: JWTVerifyGetKey;
}

class JwtFilter implements HttpFilter {
  private readonly byIssuer = new Map<string, Verifier>();

  constructor(private readonly config: JwtConfig) {
    for (const rule of config.rules) {
      const keys =
        rule.jwksUri !== undefined
          ? createRemoteJWKSet(new URL(rule.jwksUri), {
              cooldownDuration: config.minRefreshIntervalMs,
              cacheMaxAge: config.cacheMaxAgeMs,
              timeoutDuration: config.fetchTimeoutMs,
            })
          : createLocalJWKSet({ keys: (rule.jwks?.keys ?? []) as never[] });
      this.byIssuer.set(rule.issuer, { rule, keys });
    }
  }

  decodeHeaders(exchange: FilterExchange): FilterOutcome | Promise<FilterOutcome> {
    const found = tokenFrom(exchange.requestHeaders, this.config.rules);
    if (found === undefined) return CONTINUE;
    let issuer: unknown;
    try {
      issuer = decodeJwt(found.token).iss;
    } catch {
      return { code: 'JWT_INVALID', detail: 'malformed token' };
    }
    const verifier = typeof issuer === 'string' ? this.byIssuer.get(issuer) : undefined;
    if (verifier === undefined) return { code: 'JWT_INVALID', detail: 'token issuer is not trusted' };
    return this.verify(exchange, verifier, found.token, found.header);
  }

  private async verify(exchange: FilterExchange, verifier: Verifier, token: string, header: string): Promise<FilterOutcome> {
    const { rule, keys } = verifier;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: rule.issuer,
        algorithms: ASYMMETRIC_ALGORITHMS,
        clockTolerance: rule.clockSkewSeconds,
        ...(rule.audiences === undefined ? {} : { audience: [...rule.audiences] }),
      });
      exchange.endUser = { issuer: rule.issuer, claims: payload };
      // A cookie header carries other cookies too: it is forwarded as it came.
      if (!rule.forwardOriginalToken && header !== 'cookie') removeHeader(exchange.requestHeaders, header);
      return CONTINUE;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return { code: 'JWT_INVALID', detail: typeof code === 'string' ? `token refused (${code})` : 'token refused' };
    }
  }
}

export const jwtFilter: HttpFilterFactory = {
  name: 'jwt',
  configSchema: jwtConfigSchema,
  terminal: false,
  create: (config) => new JwtFilter(config as unknown as JwtConfig),
};
