// Which `Upgrade` requests the sidecar tunnels, and what it takes from the upstream before it
// pipes bytes. A tunnel is opaque to every filter after the 101, so the rules are narrow: one
// protocol per request, from the configured list (`upgrades.protocols`, default `websocket`);
// `h2c` never (an HTTP/2 connection smuggled through an HTTP/1.1 request would carry requests no
// policy sees: HTTP/2 is taken with prior knowledge or ALPN instead). The upstream's 101 must
// name the protocol that was asked for; the sidecar forwards that 101 and never makes one up.
// An open tunnel counts against its cluster's `maxRequests` and is cut after `idleTimeoutMs`
// with no bytes either way.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { UpgradesConfig } from '../config/types.js';
import type { LocalReplyOutcome } from '../filters/http-filter.js';

export type UpgradeAcceptance = { readonly protocol: string } | { readonly refusal: LocalReplyOutcome };

/** The protocol an upgrade request asks for, if the sidecar tunnels it, else why not. */
export function acceptUpgrade(upgradeHeader: string | undefined, config: UpgradesConfig): UpgradeAcceptance {
  const tokens = (upgradeHeader ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
  if (tokens.length !== 1) {
    return { refusal: { code: 'UPGRADE_REFUSED', detail: tokens.length === 0 ? 'empty Upgrade header' : 'one protocol per upgrade request' } };
  }
  const protocol = tokens[0]!.toLowerCase();
  if (protocol === 'h2c') return { refusal: { code: 'UPGRADE_REFUSED', detail: 'h2c upgrades are refused (HTTP/2 is taken with prior knowledge)' } };
  if (!config.protocols.includes(protocol)) return { refusal: { code: 'UPGRADE_REFUSED', detail: `upgrade to ${protocol} is not allowed` } };
  return { protocol };
}

/** Why the upstream's 101 is not the switch that was asked for, or undefined when it is. */
export function upstreamUpgradeProblem(protocol: string, headers: readonly string[]): string | undefined {
  const offered: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'upgrade') offered.push(headers[i + 1]!.trim().toLowerCase());
  }
  if (offered.length === 0) return 'the upstream switched protocols without an Upgrade header';
  if (offered.length > 1 || offered[0] !== protocol) return `the upstream switched to ${offered.join(', ')}, not ${protocol}`;
  return undefined;
}

/**
 * Cuts both sides of a tunnel after `idleTimeoutMs` with no bytes either way (a byte read on
 * one side is written on the other, so each side's own timer sees the traffic of both
 * directions); `onIdle` runs first.
 */
export function tunnelIdleTimeout(caller: Duplex, upstream: Duplex, idleTimeoutMs: number, onIdle: () => void): void {
  const cut = (): void => {
    onIdle();
    caller.destroy();
    upstream.destroy();
  };
  for (const side of [caller, upstream] as Socket[]) side.setTimeout(idleTimeoutMs, cut);
}
