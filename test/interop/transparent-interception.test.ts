// `weft iptables` end to end in network namespaces (root, iproute2, iptables): two "pods" joined
// by a veth pair, each with an app and a `weft proxy` child running as the sidecar's UID. The
// client app calls the server's IP and port with no proxy settings; its connection is redirected
// to its sidecar, which routes by the Host the app sent and opens mutual TLS to the server's IP
// and the same port, where the server's rules redirect it to the server sidecar's mesh port. A
// bridge in the root namespace reaches the real CA that issues both identities.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { TEST_TRUST_DOMAIN } from '../helpers/throwaway-ca.js';
import { weftBin } from '../helpers/weft-cli.js';

const tag = String(process.pid % 100000);
const ns = { client: `weft-e2e-c${tag}`, server: `weft-e2e-s${tag}` };
const bridge = `wbr${tag}`;
const CA_ADDRESS = '10.231.0.1';
const POD_IP = { client: '10.230.0.1', server: '10.230.0.2' };
const APP_PORT = 8080;
const PROXY_UID = 10001;
const id = (workload: string) => `spiffe://${TEST_TRUST_DOMAIN}/ns/default/sa/${workload}`;

function sh(args: string[]): { ok: boolean; out: string } {
  const result = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 20_000 });
  return { ok: result.status === 0, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function must(...args: string[]): string {
  const result = sh(args);
  if (!result.ok) throw new Error(`${args.join(' ')}: ${result.out}`);
  return result.out;
}

const probe = sh(['ip', 'netns', 'add', `weft-e2e-probe${tag}`]);
if (probe.ok) sh(['ip', 'netns', 'del', `weft-e2e-probe${tag}`]);
const skipReason = probe.ok ? '' : `network namespaces cannot be created here (${probe.out.trim() || 'ip netns add failed'})`;

/** Runs in a namespace; `uid` drops to the sidecar's user. Environment: PATH only (no proxy). */
function inNs(namespace: string, command: string[], uid?: number): string[] {
  const user = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  return ['ip', 'netns', 'exec', namespace, ...user, ...command];
}

function curl(namespace: string, url: string, uid?: number): { status: number; body: string } {
  const args = inNs(namespace, ['curl', '-sS', '--noproxy', '*', '--max-time', '10', '-w', '\n%{http_code}', url], uid);
  const result = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 20_000 });
  const text = result.stdout ?? '';
  const cut = text.lastIndexOf('\n');
  return { status: Number(text.slice(cut + 1)), body: text.slice(0, cut) };
}

async function started(child: ChildProcess, pattern: RegExp, stream: 'stdout' | 'stderr'): Promise<void> {
  let seen = '';
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`exited ${String(code)} before ready: ${seen}`);
  });
  const ready = (async () => {
    for await (const chunk of child[stream]!.setEncoding('utf8')) {
      seen += chunk as string;
      if (pattern.test(seen)) return;
    }
  })();
  await Promise.race([ready, exited]);
}

describe.skipIf(skipReason !== '')(`transparent interception in network namespaces ${skipReason}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-netns-'));
  const children: ChildProcess[] = [];
  let ca: TestCaServer | undefined;

  function launch(namespace: string, command: string[], uid?: number): ChildProcess {
    const args = inNs(namespace, command, uid);
    const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    children.push(child);
    return child;
  }

  async function sidecar(workload: string, namespace: string, caPort: number, traffic: Record<string, unknown>): Promise<void> {
    const token = join(dir, `${workload}.token`);
    writeFileSync(token, await ca!.tokens.mint({ spiffeId: id(workload) }));
    const config = join(dir, `${workload}.yaml`);
    writeFileSync(
      config,
      stringify({
        workload,
        accessLog: { mode: 'off' },
        admin: { address: '127.0.0.1', port: 15000 },
        identity: { trustDomain: TEST_TRUST_DOMAIN, ca: { address: `${CA_ADDRESS}:${caPort}`, trustBundleFile: join(dir, 'root-cert.pem') }, bootstrapTokenFile: token },
        ...traffic,
      }),
    );
    for (const file of [token, config]) chmodSync(file, 0o644);
    await started(launch(namespace, [process.execPath, weftBin, 'proxy', '--config', config], PROXY_UID), /weft proxy: ready/, 'stderr');
  }

  beforeAll(async () => {
    chmodSync(dir, 0o755);
    // Two namespaces joined by a veth pair; each also on a bridge in the root namespace (the CA).
    must('ip', 'netns', 'add', ns.client);
    must('ip', 'netns', 'add', ns.server);
    must('ip', 'link', 'add', `wfa${tag}`, 'type', 'veth', 'peer', 'name', `wfb${tag}`);
    must('ip', 'link', 'set', `wfa${tag}`, 'netns', ns.client);
    must('ip', 'link', 'set', `wfb${tag}`, 'netns', ns.server);
    must('ip', 'link', 'add', bridge, 'type', 'bridge');
    must('ip', 'addr', 'add', `${CA_ADDRESS}/24`, 'dev', bridge);
    must('ip', 'link', 'set', bridge, 'up');
    for (const [side, link, podIp, bridgeIp, hostEnd] of [
      [ns.client, `wfa${tag}`, POD_IP.client, '10.231.0.2', `wca${tag}`],
      [ns.server, `wfb${tag}`, POD_IP.server, '10.231.0.3', `wsa${tag}`],
    ] as const) {
      must('ip', 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', `${hostEnd}p`);
      must('ip', 'link', 'set', `${hostEnd}p`, 'netns', side);
      must('ip', 'link', 'set', hostEnd, 'master', bridge, 'up');
      must('ip', '-n', side, 'addr', 'add', `${podIp}/24`, 'dev', link);
      must('ip', '-n', side, 'addr', 'add', `${bridgeIp}/24`, 'dev', `${hostEnd}p`);
      for (const up of ['lo', link, `${hostEnd}p`]) must('ip', '-n', side, 'link', 'set', up, 'up');
      // The injected init container's job: the rules, with the mesh port and admin port as usual.
      must(...inNs(side, [process.execPath, weftBin, 'iptables', '--proxy-uid', String(PROXY_UID), '--exclude-outbound-cidrs', '10.231.0.0/24']));
    }

    ca = await startCaServer({ host: CA_ADDRESS });
    writeFileSync(join(dir, 'root-cert.pem'), ca.ca.trustBundlePems.join(''));
    chmodSync(join(dir, 'root-cert.pem'), 0o644);
    const caPort = ca.port;

    // The server app: echoes what it saw (path, XFCC) and listens on every address, as pods do.
    const app = `require('http').createServer((q, s) => s.end(JSON.stringify({ path: q.url, xfcc: q.headers['x-forwarded-client-cert'] ?? null }))).listen(${APP_PORT}, '0.0.0.0', () => console.log('app ready'))`;
    await started(launch(ns.server, [process.execPath, '-e', app]), /app ready/, 'stdout');

    const policy = {
      name: 'server-callers',
      targets: { workloads: ['server'] },
      entrypoint: 'data.mesh.decision',
      modules: [
        {
          name: 'mesh.rego',
          rego: `package mesh\nimport rego.v1\ndefault allowed := false\nallowed if {\n  input.attributes.source.principal == "${id('client')}"\n  not startswith(input.attributes.request.http.path, "/admin")\n}\ndecision := {"allowed": allowed}\n`,
        },
      ],
    };
    await sidecar('server', ns.server, caPort, {
      inbound: { address: '0.0.0.0', port: 15006, appPort: APP_PORT, filters: [{ name: 'authz', config: { policies: [policy] } }, { name: 'router' }] },
    });
    await sidecar('client', ns.client, caPort, {
      outbound: {
        address: '127.0.0.1',
        port: 15001,
        // Routed by the Host the app sent (the server's IP), to where it meant to go: the same
        // IP and port, over mutual TLS to the server's identity.
        clusters: [{ name: 'server', hosts: [POD_IP.server], endpoints: [{ address: POD_IP.server, port: APP_PORT }], spiffeId: id('server') }],
      },
    });
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined)));
    await ca?.close();
    for (const name of [ns.client, ns.server]) sh(['ip', 'netns', 'del', name]);
    for (const link of [bridge, `wca${tag}`, `wsa${tag}`]) sh(['ip', 'link', 'del', link]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries the plain call of the client app over mutual TLS to the server app, which sees the client’s identity', () => {
    const reply = curl(ns.client, `http://${POD_IP.server}:${APP_PORT}/hello`);
    expect(reply.status).toBe(200);
    const seen = JSON.parse(reply.body) as { path: string; xfcc: string | null };
    expect(seen.path).toBe('/hello');
    expect(seen.xfcc).toContain(`URI=${id('client')}`);
    const clientMetrics = curl(ns.client, 'http://127.0.0.1:15000/metrics').body;
    expect(clientMetrics).toMatch(/istio_requests_total\{[^}]*reporter="source"[^}]*connection_security_policy="mutual_tls"[^}]*response_code="200"/);
    const serverMetrics = curl(ns.server, 'http://127.0.0.1:15000/metrics').body;
    expect(serverMetrics).toMatch(new RegExp(`istio_requests_total\\{[^}]*reporter="destination"[^}]*source_principal="${id('client')}"`));
  });

  it('applies the server’s policy to the intercepted call', () => {
    const reply = curl(ns.client, `http://${POD_IP.server}:${APP_PORT}/admin/users`);
    expect(reply.status).toBe(403);
    expect(reply.body).not.toContain('"path"');
  });

  it('leaves no way around the server sidecar: a plaintext call to the app port meets the mesh port', () => {
    // As the client's sidecar user, the call is not redirected on the client side; on the server
    // side it is, to the mesh listener, which speaks only mutual TLS.
    const reply = curl(ns.client, `http://${POD_IP.server}:${APP_PORT}/hello`, PROXY_UID);
    expect(reply.status).not.toBe(200);
    expect(reply.body).not.toContain('/hello');
  });

  it('removes its rules with --cleanup, after which the app is reached directly', () => {
    must(...inNs(ns.server, [process.execPath, weftBin, 'iptables', '--cleanup']));
    expect(must(...inNs(ns.server, ['iptables-save', '-t', 'nat']))).not.toContain('WEFT_');
    const direct = curl(ns.client, `http://${POD_IP.server}:${APP_PORT}/hello`, PROXY_UID);
    expect(direct.status).toBe(200);
    expect((JSON.parse(direct.body) as { xfcc: string | null }).xfcc).toBeNull();
  });
});
