// The sidecar config: every error at once with its path, defaults, frozen result, and the CLI's
// refusal (exit 2, nothing listening) of a bad config or flag.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, validateConfig } from '../../proxy/config/load-config.js';
import { Sidecar } from '../../proxy/sidecar.js';
import { runWeft } from '../helpers/weft-cli.js';
import { writeConfigFile } from '../helpers/sidecar.js';

function problemsOf(action: () => unknown): readonly string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the config was accepted');
}

const endpoint = { address: '127.0.0.1', port: 8080 };

describe('sidecar config', () => {
  it('reports every schema error at once, each with its path', () => {
    const problems = problemsOf(() =>
      validateConfig({
        workload: 'a',
        colour: 'blue',
        inbound: { port: 'x', appPort: 8080 },
        outbound: {
          port: 0,
          clusters: [
            { name: 'a', hosts: ['a'], endpoints: [endpoint] },
            { name: 'c', hosts: ['c'], endpoints: [{ address: '127.0.0.1', port: 1.5 }] },
          ],
        },
        limits: { maxConnections: 0 },
        accessLog: { mode: 'loud' },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'colour: unknown field',
        'inbound.port: expected integer',
        'outbound.clusters[1].endpoints[0].port: expected integer',
        'limits.maxConnections: must be >= 1',
        'accessLog.mode: expected one of off, on, sampled',
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('defaults path normalization to MERGE_SLASHES and refuses a mode or action it does not know', () => {
    expect(validateConfig({ workload: 'a', inbound: { port: 0, appPort: 8080 } }).pathNormalization).toEqual({ normalization: 'MERGE_SLASHES', forwardOriginalPath: false });
    expect(
      problemsOf(() => validateConfig({ workload: 'a', inbound: { port: 0, appPort: 8080 }, pathNormalization: { normalization: 'ALL', escapedSlashesAction: 'DROP' } })),
    ).toEqual([
      'pathNormalization.normalization: expected one of NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES',
      'pathNormalization.escapedSlashesAction: expected one of KEEP_UNCHANGED, REJECT_REQUEST, UNESCAPE_AND_REDIRECT, UNESCAPE_AND_FORWARD',
    ]);
  });

  it('reports missing fields and a config with no listener', () => {
    expect(problemsOf(() => validateConfig({}))).toEqual(
      expect.arrayContaining(['workload: required', '(root): needs an inbound or an outbound listener (or both)']),
    );
    expect(problemsOf(() => validateConfig({ workload: 'a', outbound: { port: 0, clusters: [{ name: 'x', hosts: ['x'] }] } }))).toEqual([
      'outbound.clusters[0].endpoints: required',
    ]);
  });

  it('checks filter chains against the filter registry and each filter its own config', () => {
    const problems = problemsOf(() =>
      validateConfig({
        workload: 'a',
        inbound: { port: 0, appPort: 1, filters: [{ name: 'router' }, { name: 'telepathy' }] },
        outbound: { port: 0, clusters: [], filters: [{ name: 'router', config: { retries: 3 } }] },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^inbound\.filters\[1\]\.name: unknown filter 'telepathy' \(known: jwt, .*authz, .*router\)$/),
        "inbound.filters[0]: 'router' must be the last filter of the chain",
        'outbound.filters[0].config.retries: unknown field',
      ]),
    );
  });

  it('refuses duplicate cluster names, hosts routed twice, a public admin listener, clashing ports and inverted timeouts', () => {
    const problems = problemsOf(() =>
      validateConfig({
        workload: 'a',
        admin: { address: '0.0.0.0', port: 15000 },
        outbound: {
          port: 15000,
          clusters: [
            { name: 'x', hosts: ['shared'], endpoints: [endpoint] },
            { name: 'x', hosts: ['Shared'], endpoints: [endpoint] },
          ],
        },
        limits: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 },
      }),
    );
    expect(problems).toEqual([
      "outbound.clusters[1].name: 'x' already names outbound.clusters[0]",
      "outbound.clusters[1].hosts[0]: 'Shared' is already routed to cluster 'x'",
      "admin.address: '0.0.0.0' is not a loopback address",
      'limits.headersTimeoutMs: must not exceed limits.requestTimeoutMs',
      'outbound.port: port 15000 is also admin.port',
    ]);
  });

  it('checks retries and outlier detection, every error at once, and fills their defaults', () => {
    const cluster = (extra: object) => ({ workload: 'a', outbound: { port: 0, clusters: [{ name: 'x', hosts: ['x'], endpoints: [endpoint], ...extra }] } });
    const problems = problemsOf(() =>
      validateConfig(
        cluster({
          retries: { attempts: 11, perTryTimeoutMs: 0, retryOn: ['5xx', 'sometimes'], budget: { percent: 120, perSecond: 3 } },
          outlierDetection: { consecutive5xx: 0, maxEjectionPercent: 101, ejectFor: 1 },
        }),
      ),
    );
    expect(problems).toEqual([
      'outbound.clusters[0].retries.attempts: must be <= 10',
      'outbound.clusters[0].retries.perTryTimeoutMs: must be >= 1',
      'outbound.clusters[0].retries.retryOn[1]: expected one of 5xx, gateway-error, connect-failure, reset, refused-stream, retriable-4xx, rate-limited, unavailable, cancelled, deadline-exceeded, resource-exhausted',
      'outbound.clusters[0].retries.budget.perSecond: unknown field',
      'outbound.clusters[0].retries.budget.percent: must be <= 100',
      'outbound.clusters[0].outlierDetection.ejectFor: unknown field',
      'outbound.clusters[0].outlierDetection.consecutive5xx: must be >= 1',
      'outbound.clusters[0].outlierDetection.maxEjectionPercent: must be <= 100',
    ]);
    const config = validateConfig(cluster({ retries: { attempts: 2 }, outlierDetection: {} }));
    expect(config.outbound?.clusters[0]).toMatchObject({
      retries: { attempts: 2, retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'gateway-error'], retryNonIdempotent: false, budget: { percent: 20, minRetryConcurrency: 3 } },
      outlierDetection: { consecutive5xx: 5, consecutiveConnectFailures: 5, intervalMs: 10000, baseEjectionTimeMs: 30000, maxEjectionPercent: 10 },
    });
  });

  it('reports YAML syntax errors', () => {
    const problems = problemsOf(() => parseConfig('workload: a\ninbound: [unclosed\n'));
    expect(problems[0]).toMatch(/^yaml: /);
  });

  it('fills defaults and deep-freezes the result', () => {
    const config = parseConfig('workload: a\noutbound:\n  port: 0\n  clusters:\n    - { name: x, hosts: [x], endpoints: [{ address: 127.0.0.1, port: 1 }] }\n');
    expect(config.outbound?.clusters[0]?.loadBalancer).toBe('least_request');
    expect(config.outbound?.filters).toEqual([{ name: 'router', config: {} }]);
    expect(config.limits.maxHeaderBytes).toBe(16384);
    expect(Object.isFrozen(config.outbound?.clusters[0]?.endpoints[0])).toBe(true);
    expect(() => {
      (config.limits as { maxConnections: number }).maxConnections = 1;
    }).toThrow(TypeError);
  });

  it('does not half-start: when one listener cannot bind, none is left listening', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const inboundPort = (free.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    try {
      const config = validateConfig({
        workload: 'a',
        admin: { port: 0 },
        inbound: { address: '127.0.0.1', port: inboundPort, appPort: 1 },
        outbound: { port: taken, clusters: [] },
      });
      await expect(Sidecar.start(config)).rejects.toThrow(/EADDRINUSE/);
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect(inboundPort, '127.0.0.1');
        socket.on('connect', () => (socket.destroy(), resolve(false)));
        socket.on('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    } finally {
      blocker.close();
    }
  });
});

describe('weft proxy command', () => {
  it('exits 2 with every config problem listed, and no stack trace', async () => {
    const file = await writeConfigFile({ workload: 'a', inbound: { port: -1, appPort: 'x' } });
    const result = await runWeft(['proxy', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('inbound.port: must be >= 0');
    expect(result.stderr).toContain('inbound.appPort: expected integer');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on an unknown flag, a missing --config and an unreadable file', async () => {
    for (const args of [['--frobnicate'], [], ['--config', '/nonexistent/weft.yaml']]) {
      const result = await runWeft(['proxy', ...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('prints its usage with --help', async () => {
    const result = await runWeft(['proxy', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('weft proxy --config FILE');
  });
});
