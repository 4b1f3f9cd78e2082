// What `weft iptables` redirects: one plan, parsed once from flags or pod annotations (the
// injector writes the flags from the annotations), validated with every error at once, frozen.
import { isIPv4 } from 'node:net';

export interface InterceptionPlan {
  /** The sidecar's inbound (mesh) listener: every inbound TCP connection goes here. */
  readonly inboundPort: number;
  /** The sidecar's outbound listener: every outbound TCP connection of the app goes here. */
  readonly outboundPort: number;
  /** The sidecar's UID: its own connections are never redirected (no loops). */
  readonly proxyUid: number;
  /** Inbound ports left alone: the sidecar's admin port and the user's. */
  readonly excludeInboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
  /** IPv4 CIDRs the app reaches directly. */
  readonly excludeOutboundCidrs: readonly string[];
}

export const DEFAULT_PLAN: InterceptionPlan = Object.freeze({
  inboundPort: 15006,
  outboundPort: 15001,
  proxyUid: 10001,
  excludeInboundPorts: Object.freeze([15000]),
  excludeOutboundPorts: Object.freeze([]),
  excludeOutboundCidrs: Object.freeze([]),
});

/** The plan's settings as text, named as the flags of `weft iptables` are. */
export interface InterceptionText {
  readonly 'inbound-port'?: string;
  readonly 'outbound-port'?: string;
  readonly 'proxy-uid'?: string;
  readonly 'exclude-inbound-ports'?: string;
  readonly 'exclude-outbound-ports'?: string;
  readonly 'exclude-outbound-cidrs'?: string;
}

export class InterceptionPlanError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

function listItems(text: string | undefined): string[] {
  return text === undefined ? [] : text.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function port(text: string, what: string, problems: string[]): number {
  const value = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= 65535)) problems.push(`${what}: ${JSON.stringify(text)} is not a port from 1 to 65535`);
  return value;
}

function cidr(text: string, what: string, problems: string[]): string {
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  const bits = match === null ? NaN : Number(match[2]);
  if (match === null || !isIPv4(match[1]!) || !(bits <= 32)) {
    problems.push(`${what}: ${JSON.stringify(text)} is not an IPv4 CIDR (a.b.c.d/n)`);
  }
  return text;
}

/** Parses and checks every setting; throws one InterceptionPlanError naming all problems. */
export function interceptionPlan(text: InterceptionText): InterceptionPlan {
  const problems: string[] = [];
  const single = (key: 'inbound-port' | 'outbound-port', fallback: number): number =>
    text[key] === undefined ? fallback : port(text[key], key, problems);
  const uidText = text['proxy-uid'];
  const proxyUid = uidText === undefined ? DEFAULT_PLAN.proxyUid : /^\d{1,10}$/.test(uidText) ? Number(uidText) : NaN;
  if (!(proxyUid >= 1 && proxyUid <= 0xfffffffe)) problems.push(`proxy-uid: ${JSON.stringify(uidText)} is not a non-root UID`);
  const plan: InterceptionPlan = {
    inboundPort: single('inbound-port', DEFAULT_PLAN.inboundPort),
    outboundPort: single('outbound-port', DEFAULT_PLAN.outboundPort),
    proxyUid,
    excludeInboundPorts: [
      ...new Set([...DEFAULT_PLAN.excludeInboundPorts, ...listItems(text['exclude-inbound-ports']).map((item) => port(item, 'exclude-inbound-ports', problems))]),
    ],
    excludeOutboundPorts: [...new Set(listItems(text['exclude-outbound-ports']).map((item) => port(item, 'exclude-outbound-ports', problems)))],
    excludeOutboundCidrs: [...new Set(listItems(text['exclude-outbound-cidrs']).map((item) => cidr(item, 'exclude-outbound-cidrs', problems)))],
  };
  if (plan.inboundPort === plan.outboundPort) problems.push(`inbound-port and outbound-port must differ (both ${plan.inboundPort})`);
  if (problems.length > 0) throw new InterceptionPlanError(problems);
  return Object.freeze({
    ...plan,
    excludeInboundPorts: Object.freeze(plan.excludeInboundPorts),
    excludeOutboundPorts: Object.freeze(plan.excludeOutboundPorts),
    excludeOutboundCidrs: Object.freeze(plan.excludeOutboundCidrs),
  });
}

/** The plan as `weft iptables` flags (what the injected init container runs). */
export function interceptionFlags(plan: InterceptionPlan): string[] {
  const flags = ['--inbound-port', String(plan.inboundPort), '--outbound-port', String(plan.outboundPort), '--proxy-uid', String(plan.proxyUid)];
  const lists: [string, readonly (number | string)[]][] = [
    ['--exclude-inbound-ports', plan.excludeInboundPorts],
    ['--exclude-outbound-ports', plan.excludeOutboundPorts],
    ['--exclude-outbound-cidrs', plan.excludeOutboundCidrs],
  ];
  for (const [flag, items] of lists) if (items.length > 0) flags.push(flag, items.join(','));
  return flags;
}
