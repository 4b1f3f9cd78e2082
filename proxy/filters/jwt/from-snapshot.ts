// The jwt filter's part of a control-plane snapshot: the RequestAuthentications' JWT rules; no
// rule, no jwt filter in the chain.
import { durationMs } from '../../../control-plane/api/resource-codec.js';
import type { Snapshot } from '../../xds/snapshot.js';

export function jwtConfigFromSnapshot(snapshot: Snapshot): Record<string, unknown> | undefined {
  const rules = snapshot.requestAuthentications.flatMap((ra) => ra.spec.jwtRules);
  if (rules.length === 0) return undefined;
  return {
    rules: rules.map(({ clockSkew, ...rule }) => ({
      ...rule,
      ...(clockSkew === undefined ? {} : { clockSkewSeconds: Math.ceil(durationMs(clockSkew) / 1000) }),
    })),
  };
}
