import { describe, expect, it } from 'vitest';
import { controlPlaneTarget } from '../../../proxy/xds/control-plane-target.js';
import { runWeft } from '../../helpers/weft-cli.js';

describe('--control-plane with several replicas', () => {
  it('keeps one address as it is and lists several IPs as one gRPC target', () => {
    expect(controlPlaneTarget('cp.mesh:15010')).toBe('cp.mesh:15010');
    expect(controlPlaneTarget('127.0.0.1:1,127.0.0.2:2')).toBe('ipv4:127.0.0.1:1,127.0.0.2:2');
    expect(controlPlaneTarget('[::1]:1, [::1]:2')).toBe('ipv6:[::1]:1,[::1]:2');
  });

  it('refuses host names, mixed families and empty entries in a list', async () => {
    expect(() => controlPlaneTarget('cp-a:1,cp-b:2')).toThrow('each must be IP:PORT or [IPv6]:PORT, not cp-a:1');
    expect(() => controlPlaneTarget('127.0.0.1:1,[::1]:2')).toThrow('must all be IPv4 or all IPv6');
    expect(() => controlPlaneTarget('127.0.0.1:1,')).toThrow('an empty address');
    const cli = await runWeft(['proxy', '--control-plane', '127.0.0.1:1,cp-b:2', '--workload', 'web']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('not cp-b:2');
  });
});
