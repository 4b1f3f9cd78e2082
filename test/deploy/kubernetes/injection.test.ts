// The injector against AdmissionReviews as the API server sends them: the patch it returns is
// applied with fast-json-patch (RFC 6902) and the result checked as a Pod with kubernetes-models'
// schema; then the webhook over HTTPS with a certificate from a throwaway weft CA, and
// `weft inject -f` on a file.
import { spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createRootCa } from '../../../control-plane/ca/ca-directory.js';
import { MalformedReview, reviewPod, type AdmissionReviewReply } from '../../../deploy/kubernetes/injection/admission-review.js';
import { DEFAULT_SETTINGS } from '../../../deploy/kubernetes/injection/injection-settings.js';
import type { OptIn } from '../../../deploy/kubernetes/injection/pod-injection.js';
import { startInjectorServer } from '../../../deploy/kubernetes/injection/injector-server.js';
import { runWeft, weftBin } from '../../helpers/weft-cli.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function review(mutate: (pod: Json) => void = () => {}): Json {
  const body = JSON.parse(readFileSync('test/deploy/kubernetes/fixtures/admission-review-pod.json', 'utf8')) as Json;
  mutate(body.request.object);
  return body;
}

function patchOf(reply: AdmissionReviewReply): Operation[] {
  expect(reply.response.patchType).toBe('JSONPatch');
  return JSON.parse(Buffer.from(reply.response.patch!, 'base64').toString('utf8')) as Operation[];
}

/** Applies the reply's patch as the API server would, and checks the result is a valid Pod. */
function injected(body: Json, optIn: OptIn = 'namespace'): Json {
  const reply = reviewPod(body, optIn, DEFAULT_SETTINGS);
  expect(reply.response).toMatchObject({ uid: body.request.uid, allowed: true });
  const patch = patchOf(reply);
  expect(fastJsonPatch.validate(patch, body.request.object)).toBeUndefined();
  const pod = fastJsonPatch.applyPatch(structuredClone(body.request.object), patch, true, false).newDocument as Json;
  new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate();
  return pod;
}

const named = (list: Json[], name: string): Json => list.find((item) => item.name === name)!;

describe('weft injector: the mutation', () => {
  it('adds the sidecar as a native sidecar after the interception init container, with a weft-ca token', () => {
    const pod = injected(review());
    const [interception, sidecar] = pod.spec.initContainers as Json[];
    expect(interception!.name).toBe('weft-interception');
    expect(interception!.args.slice(0, 1)).toEqual(['iptables']);
    expect(interception!.securityContext.capabilities.add).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(interception!.restartPolicy).toBeUndefined();
    expect(sidecar!.name).toBe('weft-proxy');
    expect(sidecar!.restartPolicy).toBe('Always');
    expect(sidecar!.securityContext).toMatchObject({ runAsUser: 10001, runAsNonRoot: true });
    const args = sidecar!.args as string[];
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--workload')).toBe('orders');
    expect(flag('--service-account')).toBe('orders');
    expect(flag('--app-port')).toBe('8080');
    expect(flag('--namespace')).toBe('$(WEFT_POD_NAMESPACE)');
    expect(sidecar!.env).toContainEqual({ name: 'WEFT_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    // Intercepted connections arrive at the pod IP, and other sidecars dial it.
    expect(flag('--pod-ip')).toBe('$(WEFT_POD_IP)');
    expect(flag('--cluster-domain')).toBe('cluster.local');
    expect(sidecar!.env).toContainEqual({ name: 'WEFT_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    const token = named(pod.spec.volumes, 'weft-token').projected.sources[0].serviceAccountToken;
    expect(token).toMatchObject({ audience: 'weft-ca', path: 'weft-ca-token' });
    const tokenMount = named(sidecar!.volumeMounts, 'weft-token').mountPath as string;
    expect(flag('--token-file')).toBe(`${tokenMount}/weft-ca-token`);
    expect(flag('--trust-bundle')!.startsWith(named(sidecar!.volumeMounts, 'weft-trust').mountPath)).toBe(true);
    // What was there stays: the API server's token volume, the app, its annotation.
    expect(named(pod.spec.volumes, 'kube-api-access-x7k2p')).toBeDefined();
    expect(pod.spec.containers).toEqual(review().request.object.spec.containers);
    expect(pod.metadata.annotations).toEqual({ 'kubectl.kubernetes.io/restartedAt': '2026-12-01T10:00:00Z', 'weft.dev/status': 'injected' });
  });

  it('runs the interception with the admin port and the annotated ports and CIDRs excluded', () => {
    const pod = injected(
      review((object) => {
        object.metadata.annotations['weft.dev/exclude-inbound-ports'] = '9090, 9091';
        object.metadata.annotations['weft.dev/exclude-outbound-ports'] = '5432';
        object.metadata.annotations['weft.dev/exclude-outbound-cidrs'] = '169.254.169.254/32,10.96.0.0/12';
      }),
    );
    expect(pod.spec.initContainers[0].args).toEqual([
      'iptables', '--inbound-port', '15006', '--outbound-port', '15001', '--proxy-uid', '10001',
      '--exclude-inbound-ports', '15000,9090,9091', '--exclude-outbound-ports', '5432', '--exclude-outbound-cidrs', '169.254.169.254/32,10.96.0.0/12',
    ]);
  });

  it('is idempotent: a pod it injected comes back without a patch', () => {
    const once = injected(review());
    const again = reviewPod(review((object) => Object.assign(object, once)), 'namespace', DEFAULT_SETTINGS);
    expect(again.response).toEqual({ uid: '7f0b2891-916f-4ed6-b7cd-27bff1815a8c', allowed: true });
  });

  it('injects a bare pod (no init containers, volumes or annotations) with whole lists added', () => {
    const pod = injected(
      review((object) => {
        delete object.metadata.annotations;
        delete object.spec.volumes;
        delete object.spec.containers[0].volumeMounts;
        object.spec.initContainers = null;
      }),
    );
    expect(pod.spec.initContainers.map((c: Json) => c.name)).toEqual(['weft-interception', 'weft-proxy']);
    expect(pod.spec.volumes.map((v: Json) => v.name)).toEqual(['weft-token', 'weft-trust', 'weft-state']);
    expect(pod.metadata.annotations).toEqual({ 'weft.dev/status': 'injected' });
  });

  it('puts its containers before the pod’s own init containers, which keep their order', () => {
    const pod = injected(review((object) => (object.spec.initContainers = [{ name: 'migrate', image: 'registry.example/orders:1.4.2' }])));
    expect(pod.spec.initContainers.map((c: Json) => c.name)).toEqual(['weft-interception', 'weft-proxy', 'migrate']);
  });

  it('opts in by the namespace (unless the pod says "false") or by the pod annotation', () => {
    expect(reviewPod(review(), 'pod', DEFAULT_SETTINGS).response.patch).toBeUndefined();
    injected(review((object) => (object.metadata.annotations['weft.dev/inject'] = 'true')), 'pod');
    const optedOut = reviewPod(review((object) => (object.metadata.annotations['weft.dev/inject'] = 'false')), 'namespace', DEFAULT_SETTINGS);
    expect(optedOut.response).toEqual({ uid: '7f0b2891-916f-4ed6-b7cd-27bff1815a8c', allowed: true });
  });

  it('never injects a pod on the host network (the rules would rewrite the node’s)', () => {
    expect(reviewPod(review((object) => (object.spec.hostNetwork = true)), 'namespace', DEFAULT_SETTINGS).response.patch).toBeUndefined();
  });

  it('denies a pod whose annotations cannot be honoured, naming every problem', () => {
    const reply = reviewPod(
      review((object) => {
        object.metadata.annotations['weft.dev/exclude-inbound-ports'] = '8080,70000';
        object.metadata.annotations['weft.dev/exclude-outbound-cidrs'] = '10.0.0.0/33,example.com';
      }),
      'namespace',
      DEFAULT_SETTINGS,
    );
    expect(reply.response.allowed).toBe(false);
    expect(reply.response.patch).toBeUndefined();
    expect(reply.response.status!.code).toBe(400);
    for (const bad of ['"70000"', '"10.0.0.0/33"', '"example.com"']) expect(reply.response.status!.message).toContain(bad);
    const clash = reviewPod(review((object) => object.spec.containers.push({ name: 'weft-proxy', image: 'x' })), 'namespace', DEFAULT_SETTINGS);
    expect(clash.response).toMatchObject({ allowed: false, status: { message: 'weft injector: the pod already has a container named weft-proxy' } });
    const typed = reviewPod(review((object) => (object.metadata.annotations['weft.dev/app-port'] = 8080)), 'namespace', DEFAULT_SETTINGS);
    expect(typed.response).toMatchObject({ allowed: false, status: { message: 'weft injector: metadata annotations and labels must be maps of strings' } });
    const workload = reviewPod(review((object) => (object.metadata.annotations['weft.dev/workload'] = 'Orders_V2')), 'namespace', DEFAULT_SETTINGS);
    expect(workload.response.status!.message).toContain('"Orders_V2" is not a DNS label');
  });

  it('passes other operations untouched and refuses what is not an AdmissionReview v1', () => {
    const update = review();
    update.request.operation = 'UPDATE';
    expect(reviewPod(update, 'namespace', DEFAULT_SETTINGS).response).toMatchObject({ allowed: true, warnings: ['weft injector: only pod creations are injected'] });
    const v1beta1 = { ...review(), apiVersion: 'admission.k8s.io/v1beta1' };
    expect(() => reviewPod(v1beta1, 'namespace', DEFAULT_SETTINGS)).toThrow(MalformedReview);
    expect(() => reviewPod({ ...review(), request: { ...review().request, uid: '' } }, 'namespace', DEFAULT_SETTINGS)).toThrow('no request.uid');
    expect(() => reviewPod(null, 'namespace', DEFAULT_SETTINGS)).toThrow(MalformedReview);
  });
});

describe('weft injector serve: HTTPS with a certificate from the weft CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-injector-'));
  let server: Server | undefined;
  let port = 0;
  let caPem = '';

  beforeAll(async () => {
    await createRootCa(join(dir, 'ca'));
    const issued = await runWeft(['injector', 'issue-cert', '--ca-dir', join(dir, 'ca'), '--out', join(dir, 'tls')]);
    expect(issued.stdout).toContain('weft-injector.weft-system.svc (spiffe://cluster.local/ns/weft-system/sa/weft-injector)');
    caPem = readFileSync(join(dir, 'tls', 'ca.crt'), 'utf8');
    const tls = { certPem: readFileSync(join(dir, 'tls', 'tls.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'tls', 'tls.key'), 'utf8') };
    const started = await startInjectorServer({ ...tls, host: '127.0.0.1', port: 0, settings: DEFAULT_SETTINGS });
    server = started.server;
    port = started.address.port;
  });

  afterAll(async () => {
    if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
  });

  function post(path: string, body: string | Buffer): Promise<{ status: number; json: Json }> {
    return new Promise((resolve, reject) => {
      const call = request(
        // The name the API server checks: the Service's DNS name in the certificate.
        { host: '127.0.0.1', port, path, method: 'POST', ca: caPem, servername: 'weft-injector.weft-system.svc', headers: { 'content-type': 'application/json' } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json }));
        },
      );
      call.on('error', reject);
      call.end(body);
    });
  }

  it('answers a review posted to /inject/namespace with a patch that applies', async () => {
    const body = review();
    const { status, json } = await post('/inject/namespace', JSON.stringify(body));
    expect(status).toBe(200);
    expect(json).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: body.request.uid, allowed: true } });
    const pod = fastJsonPatch.applyPatch(body.request.object, patchOf(json as AdmissionReviewReply), true, false).newDocument as Json;
    expect(pod.spec.initContainers[1].restartPolicy).toBe('Always');
  });

  it('injects on /inject/pod only when the pod asks', async () => {
    expect((await post('/inject/pod', JSON.stringify(review()))).json.response.patch).toBeUndefined();
    const asks = review((object) => (object.metadata.annotations['weft.dev/inject'] = 'true'));
    expect((await post('/inject/pod', JSON.stringify(asks))).json.response.patchType).toBe('JSONPatch');
  });

  it('answers 400 to a body that is not a review, 404 elsewhere, 413 past the size limit', async () => {
    expect(await post('/inject/namespace', '{"kind":')).toMatchObject({ status: 400, json: { error: expect.stringContaining('not an AdmissionReview') } });
    expect((await post('/inject/namespace', JSON.stringify({ kind: 'AdmissionReview', apiVersion: 'v1' }))).status).toBe(400);
    expect((await post('/mutate', JSON.stringify(review()))).status).toBe(404);
    expect((await post('/inject/namespace', Buffer.alloc(5 * 1024 * 1024, 32))).status).toBe(413);
  });

  it('runs as `weft injector serve` from the issued Secret layout until SIGTERM', async () => {
    const child = spawn(process.execPath, [weftBin, 'injector', 'serve', '--tls-dir', join(dir, 'tls'), '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    for await (const chunk of child.stdout.setEncoding('utf8')) {
      output += chunk as string;
      if (output.includes('\n')) break;
    }
    expect(output).toMatch(/^weft injector: ready https=127\.0\.0\.1:\d+\n$/);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('prints the certificate as a kubernetes.io/tls Secret for kubectl apply, the key in no file', async () => {
    const printed = await runWeft(['injector', 'issue-cert', '--ca-dir', join(dir, 'ca'), '--secret', 'weft-injector-tls']);
    expect(printed.code).toBe(0);
    const secret = parseAllDocuments(printed.stdout)[0]!.toJS() as Json;
    expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'weft-injector-tls', namespace: 'weft-system' } });
    const pem = (name: string) => Buffer.from(secret.data[name] as string, 'base64').toString('utf8');
    const leaf = new X509Certificate(pem('tls.crt'));
    expect(leaf.checkIssued(new X509Certificate(pem('ca.crt')))).toBe(true);
    expect(leaf.checkHost('weft-injector.weft-system.svc')).toBe('weft-injector.weft-system.svc');
    expect(leaf.checkPrivateKey(createPrivateKey(pem('tls.key')))).toBe(true);
    expect(printed.stderr).toContain('issued weft-injector.weft-system.svc');
  });

  it('refuses to issue without a CA, or for longer than 90 days', async () => {
    const missing = await runWeft(['injector', 'issue-cert', '--ca-dir', join(dir, 'no-ca'), '--out', join(dir, 'x')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ca-cert.pem is missing');
    const long = await runWeft(['injector', 'issue-cert', '--ca-dir', join(dir, 'ca'), '--out', join(dir, 'x'), '--ttl-days', '365']);
    expect(long).toMatchObject({ code: 2, stderr: expect.stringContaining('--ttl-days must be 1 to 90') });
    const both = await runWeft(['injector', 'issue-cert', '--ca-dir', join(dir, 'ca'), '--store', 'etcd:http://127.0.0.1:1', '--out', join(dir, 'x')]);
    expect(both).toMatchObject({ code: 2, stderr: expect.stringContaining('name the CA: --ca-dir DIR or --store etcd:URL') });
    const nowhere = await runWeft(['injector', 'issue-cert', '--ca-dir', join(dir, 'ca')]);
    expect(nowhere).toMatchObject({ code: 2, stderr: expect.stringContaining('name the output: --out DIR or --secret NAME') });
  });
});

describe('weft inject -f', () => {
  it('prints a Deployment with its pod template injected and leaves a Service alone', async () => {
    const { stdout } = await runWeft(['inject', '-f', 'test/deploy/kubernetes/fixtures/deployment-and-service.yaml', '--image', 'registry.example/weft:0.1.0']);
    const [deployment, service] = parseAllDocuments(stdout).map((document) => document.toJS() as Json);
    new Deployment(deployment as ConstructorParameters<typeof Deployment>[0]).validate();
    const template = deployment!.spec.template;
    expect(template.spec.initContainers.map((c: Json) => c.name)).toEqual(['weft-interception', 'weft-proxy', 'migrate']);
    expect(template.spec.initContainers[1].image).toBe('registry.example/weft:0.1.0');
    expect(template.spec.initContainers[1].args).toContain('3000');
    expect(template.metadata.annotations).toEqual({ 'weft.dev/status': 'injected' });
    const original = parseAllDocuments(readFileSync('test/deploy/kubernetes/fixtures/deployment-and-service.yaml', 'utf8')).map((document) => document.toJS() as Json);
    expect(service).toEqual(original[1]);
  });

  it('passes the cluster domain to each sidecar, and refuses one that is not a DNS name', async () => {
    const fixture = 'test/deploy/kubernetes/fixtures/deployment-and-service.yaml';
    const { stdout } = await runWeft(['inject', '-f', fixture, '--cluster-domain', 'corp.example']);
    const args = (parseAllDocuments(stdout)[0]!.toJS() as Json).spec.template.spec.initContainers[1].args as string[];
    expect(args[args.indexOf('--cluster-domain') + 1]).toBe('corp.example');
    const refused = await runWeft(['inject', '-f', fixture, '--cluster-domain', 'Corp_Example.']);
    expect(refused).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('--cluster-domain must be a DNS name, got "Corp_Example."') });
  });

  it('fails with the document named when an annotation is bad, and prints nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-inject-'));
    const file = join(dir, 'pod.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    weft.dev/exclude-outbound-ports: "0"\nspec:\n  containers: [{name: app, image: app}]\n');
    const failed = await runWeft(['inject', '-f', file]);
    expect(failed).toMatchObject({ code: 1, stdout: '' });
    expect(failed.stderr).toContain('document 1: weft.dev annotations: exclude-outbound-ports: "0" is not a port from 1 to 65535');
  });
});
