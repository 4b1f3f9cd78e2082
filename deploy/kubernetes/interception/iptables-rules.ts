// The rules of an InterceptionPlan in iptables-restore's format (nat table), and the nat table
// without them for `--cleanup`. Every weft chain is named WEFT_*, and the two jumps into them
// from PREROUTING and OUTPUT are the only rules weft adds to built-in chains: cleanup removes
// exactly those, whatever else the table holds.
import type { InterceptionPlan } from './interception-plan.js';

export const WEFT_CHAINS = ['WEFT_INBOUND', 'WEFT_IN_REDIRECT', 'WEFT_OUTPUT', 'WEFT_REDIRECT'] as const;

const ENTRY_RULES = ['-A PREROUTING -p tcp -j WEFT_INBOUND', '-A OUTPUT -p tcp -j WEFT_OUTPUT'];

/** weft's chains and rules, without the table header and COMMIT. */
function weftRules(plan: InterceptionPlan): { chains: string[]; rules: string[] } {
  const rules = [
    ...ENTRY_RULES,
    // Inbound: everything but the excluded ports goes to the sidecar's mesh listener.
    ...plan.excludeInboundPorts.map((port) => `-A WEFT_INBOUND -p tcp --dport ${port} -j RETURN`),
    '-A WEFT_INBOUND -p tcp -j WEFT_IN_REDIRECT',
    `-A WEFT_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${plan.inboundPort}`,
    // Outbound: loopback (the sidecar handing inbound calls to the app, the app's own local
    // calls) and the sidecar's own connections go out as they are; so do the exclusions.
    '-A WEFT_OUTPUT -o lo -j RETURN',
    `-A WEFT_OUTPUT -m owner --uid-owner ${plan.proxyUid} -j RETURN`,
    ...plan.excludeOutboundPorts.map((port) => `-A WEFT_OUTPUT -p tcp --dport ${port} -j RETURN`),
    ...plan.excludeOutboundCidrs.map((cidr) => `-A WEFT_OUTPUT -d ${cidr} -j RETURN`),
    '-A WEFT_OUTPUT -p tcp -j WEFT_REDIRECT',
    `-A WEFT_REDIRECT -p tcp -j REDIRECT --to-ports ${plan.outboundPort}`,
  ];
  return { chains: WEFT_CHAINS.map((chain) => `:${chain} - [0:0]`), rules };
}

/** weft's rules alone, as `--dry-run` prints them. */
export function interceptionRules(plan: InterceptionPlan): string {
  const { chains, rules } = weftRules(plan);
  return ['*nat', ...chains, ...rules, 'COMMIT', ''].join('\n');
}

/** Whether a line of iptables-save output is weft's (a chain declaration or a rule). */
function isWeftLine(line: string): boolean {
  return WEFT_CHAINS.some((chain) => line.startsWith(`:${chain} `) || line.startsWith(`-A ${chain} `)) || /^-A (PREROUTING|OUTPUT) .*-j WEFT_[A-Z_]+$/.test(line);
}

/** The nat section of `iptables-save -t nat` output (a table that was never used prints nothing). */
function natSection(saved: string): string[] {
  const lines = saved.split('\n').map((line) => line.trimEnd());
  const start = lines.indexOf('*nat');
  if (start === -1) return ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', 'COMMIT'];
  const end = lines.indexOf('COMMIT', start);
  if (end === -1) throw new Error('iptables-save printed a nat table without COMMIT');
  // Packet counters are the kernel's, not ours to restore.
  return lines.slice(start, end + 1).filter((line) => !line.startsWith('#'));
}

/** The saved nat table with weft's chains and rules taken out. */
export function natTableWithout(saved: string): string {
  return [...natSection(saved).filter((line) => !isWeftLine(line)), ''].join('\n');
}

/** The saved nat table with weft's rules replaced by the plan's (installing twice changes nothing). */
export function natTableWith(saved: string, plan: InterceptionPlan): string {
  const kept = natSection(saved).filter((line) => !isWeftLine(line));
  const { chains, rules } = weftRules(plan);
  const firstRule = kept.findIndex((line) => line.startsWith('-A ') || line === 'COMMIT');
  return [...kept.slice(0, firstRule), ...chains, ...kept.slice(firstRule, -1), ...rules, 'COMMIT', ''].join('\n');
}
