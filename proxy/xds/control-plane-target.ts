// `weft proxy --control-plane HOST:PORT[,HOST:PORT...]`: the control-plane replicas as one gRPC
// target for discovery and the CA. grpc-js connects to the first address that answers
// (pick_first) and, when that connection is lost, tries the list again from the top, so the
// sidecar moves to a surviving replica by itself (the discovery client's backoff paces it).
// grpc-js lists several addresses only as IP literals of one family (`ipv4:` / `ipv6:` targets);
// a host name that resolves to every replica does the same through DNS.
import { isIP } from 'node:net';

function family(address: string): 4 | 6 | undefined {
  const v6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(address);
  if (v6 !== null) return isIP(v6[1] as string) === 6 ? 6 : undefined;
  const v4 = /^([^:]+):(\d{1,5})$/.exec(address);
  return v4 !== null && isIP(v4[1] as string) === 4 ? 4 : undefined;
}

/** The gRPC target for the list; throws a message naming what is wrong. */
export function controlPlaneTarget(list: string): string {
  const addresses = list.split(',').map((a) => a.trim());
  if (addresses.some((a) => a === '')) throw new Error(`--control-plane: an empty address in ${JSON.stringify(list)}`);
  if (addresses.length === 1) return addresses[0] as string;
  const families = addresses.map(family);
  const bad = addresses.find((_, i) => families[i] === undefined);
  if (bad !== undefined) throw new Error(`--control-plane: with several addresses each must be IP:PORT or [IPv6]:PORT, not ${bad} (for host names give one name that resolves to every replica)`);
  if (new Set(families).size > 1) throw new Error('--control-plane: several addresses must all be IPv4 or all IPv6');
  return `ipv${families[0]}:${addresses.join(',')}`;
}
