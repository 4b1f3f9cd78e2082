// A stand-in for the Kubernetes API server's custom-resource endpoints, for the Kubernetes store's
// tests where no real API server can run. It speaks the real API's shapes over HTTPS with a bearer
// token: lists with a resourceVersion, watches streamed as JSON lines from a resourceVersion
// (bookmarks, ERROR 410 Expired when it is too old), create / replace / delete with optimistic
// concurrency (409 Conflict, AlreadyExists; 404 NotFound as a Status), the status subresource
// (which changes resourceVersion, not generation), and 401 without the token. It also reviews
// service-account tokens (TokenReview, authentication.k8s.io/v1) it issued, as the API server's
// authenticator answers: audiences intersected, expired or foreign tokens not authenticated.
import { randomBytes, randomUUID } from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import { buildLeafCertificate, forgePublicKey } from '../../control-plane/ca/certificate-builder.js';
import { KIND_BY_PLURAL } from '../../control-plane/api/custom-resources.js';
import { rsaKeyPem, testId, throwawayRoot } from './throwaway-ca.js';

type Json = Record<string, unknown>;
interface StoredObject extends Json {
  metadata: Json & { name: string; namespace: string; resourceVersion: string; generation: number; uid: string };
}
interface WatchEvent {
  readonly resourceVersion: number;
  readonly plural: string;
  readonly line: string;
}

export interface FakeApiServer {
  readonly url: string;
  readonly token: string;
  readonly caPem: string;
  /** The kubeconfig YAML a client uses to reach this server. */
  kubeconfig(): string;
  /** Objects stored, by plural. */
  objects(plural: string): StoredObject[];
  /** Writes an object as `kubectl apply` would (create or replace, no precondition). */
  put(plural: string, object: Json): StoredObject;
  /** Holds watch events back (true) until released (false), as a slow watch would. */
  holdWatches(held: boolean): void;
  /** Ends every open watch (as an API server restart or a proxy timeout does). */
  dropWatches(): void;
  /** Forgets history up to now: a watch from an older resourceVersion gets 410 Expired. */
  compact(): void;
  readonly requests: string[];
  /** A projected service-account token (a JWT like the kubelet's) for `audiences` (default weft-ca). */
  serviceAccountToken(options: { namespace: string; serviceAccount: string; audiences?: string[]; expiresInS?: number }): string;
  /** A token the API server authenticates as `username` (a static or OIDC user, not a service account). */
  userToken(username: string): string;
  /** TokenReviews answered with this HTTP error instead (403: the caller lacks the RBAC grant); undefined restores. */
  failTokenReviews(code: number | undefined): void;
  /** Every TokenReview answered with this status (an authenticator that ignores audiences); undefined restores. */
  answerTokenReviews(status: Json | undefined): void;
  close(): Promise<void>;
}

interface IssuedToken {
  readonly user: Json;
  /** Undefined for a user token: the authenticator is audience-agnostic and reports the audiences asked for. */
  readonly audiences?: readonly string[];
  readonly expiresAt: number;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function status(response: ServerResponse, code: number, reason: string, message: string): void {
  response.writeHead(code, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

export async function startFakeApiServer(): Promise<FakeApiServer> {
  const root = throwawayRoot('fake kube-apiserver CA');
  const keyPem = rsaKeyPem();
  const certPem = buildLeafCertificate({
    publicKey: forgePublicKey(createPrivateKey(keyPem)),
    spiffeId: testId('kube-apiserver', 'kube-system'),
    dnsNames: ['localhost'],
    issuer: { certificate: forge.pki.certificateFromPem(root.certificatePem), privateKey: createPrivateKey(root.privateKeyPem) },
    ttlMs: 3600_000,
  });
  const token = randomUUID();
  const store = new Map<string, Map<string, StoredObject>>();
  const history: WatchEvent[] = [];
  let resourceVersion = 100;
  let compactedAt = 0;
  const watchers = new Set<{ plural: string; response: ServerResponse }>();
  const requests: string[] = [];
  let held: { response: ServerResponse; line: string }[] | undefined;
  const issuedTokens = new Map<string, IssuedToken>();
  let reviewFailure: number | undefined;
  let reviewAnswer: Json | undefined;

  const bucket = (plural: string) => {
    let objects = store.get(plural);
    if (objects === undefined) store.set(plural, (objects = new Map()));
    return objects;
  };
  const record = (plural: string, type: string, object: Json) => {
    const line = `${JSON.stringify({ type, object })}\n`;
    history.push({ resourceVersion, plural, line });
    for (const watcher of watchers) {
      if (watcher.plural !== plural) continue;
      if (held === undefined) watcher.response.write(line);
      else held.push({ response: watcher.response, line });
    }
  };
  const save = (plural: string, object: Json, previous: StoredObject | undefined, specChanged: boolean): StoredObject => {
    resourceVersion++;
    const metadata = object.metadata as Json;
    const saved: StoredObject = {
      ...object,
      ...(previous?.status === undefined || object.status !== undefined ? {} : { status: previous.status }),
      metadata: {
        ...metadata,
        name: String(metadata.name),
        namespace: String(metadata.namespace),
        uid: previous?.metadata.uid ?? randomUUID(),
        creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString(),
        generation: previous === undefined ? 1 : previous.metadata.generation + (specChanged ? 1 : 0),
        resourceVersion: String(resourceVersion),
      },
    };
    bucket(plural).set(`${saved.metadata.namespace}/${saved.metadata.name}`, saved);
    record(plural, previous === undefined ? 'ADDED' : 'MODIFIED', saved);
    return saved;
  };
  const readBody = async (request: AsyncIterable<Buffer>): Promise<Json> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk);
    return chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json);
  };

  const reviewToken = async (request: AsyncIterable<Buffer> & { method?: string }, response: ServerResponse): Promise<void> => {
    if (request.method !== 'POST') return status(response, 405, 'MethodNotAllowed', `${request.method} is not supported here`);
    const body = await readBody(request);
    if (body.apiVersion !== 'authentication.k8s.io/v1' || body.kind !== 'TokenReview') return status(response, 400, 'BadRequest', 'the body is no authentication.k8s.io/v1 TokenReview');
    if (reviewFailure === 403) {
      return status(response, 403, 'Forbidden', 'tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:weft-system:weft-control-plane" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope');
    }
    if (reviewFailure !== undefined) return status(response, reviewFailure, 'InternalError', 'Internal error occurred: etcdserver: request timed out');
    const spec = (body.spec ?? {}) as { token?: unknown; audiences?: unknown };
    const wanted = Array.isArray(spec.audiences) ? spec.audiences.map(String) : [];
    const issued = issuedTokens.get(String(spec.token));
    const audiences = issued === undefined ? [] : issued.audiences === undefined ? wanted : issued.audiences.filter((a) => wanted.length === 0 || wanted.includes(a));
    const answer =
      reviewAnswer ??
      (issued === undefined
        ? { authenticated: false, error: '[invalid bearer token, square/go-jose: error in cryptographic primitive]' }
        : issued.expiresAt <= Date.now()
          ? { authenticated: false, error: '[invalid bearer token, service account token has expired]' }
          : wanted.length > 0 && audiences.length === 0
            ? { authenticated: false, error: `[invalid bearer token, token audiences ${JSON.stringify(issued.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}]` }
            : { authenticated: true, user: issued.user, audiences });
    response.writeHead(201, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: body.spec, status: answer }));
  };

  const server: Server = createServer({ key: keyPem, cert: certPem }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://localhost');
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    if (request.headers.authorization !== `Bearer ${token}`) return status(response, 401, 'Unauthorized', 'Unauthorized');
    if (url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews') {
      void reviewToken(request, response).catch((error: Error) => status(response, 500, 'InternalError', error.message));
      return;
    }
    const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
    // apis/weft.dev/v1alpha1/{plural} or apis/weft.dev/v1alpha1/namespaces/{ns}/{plural}/{name}[/status]
    if (parts[0] !== 'apis' || parts[1] !== 'weft.dev' || parts[2] !== 'v1alpha1') return status(response, 404, 'NotFound', 'the server could not find the requested resource');
    const [plural, namespace, name, sub] = parts[3] === 'namespaces' ? [parts[5]!, parts[4]!, parts[6], parts[7]] : [parts[3]!, undefined, undefined, undefined];
    const kind = KIND_BY_PLURAL.get(plural);
    if (kind === undefined) return status(response, 404, 'NotFound', 'the server could not find the requested resource');
    const objects = bucket(plural);
    void (async () => {
      if (request.method === 'GET' && name === undefined && url.searchParams.get('watch') === 'true') {
        const from = Number(url.searchParams.get('resourceVersion') ?? resourceVersion);
        response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        if (from < compactedAt) {
          response.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${compactedAt})`, reason: 'Expired', code: 410 } })}\n`);
          return;
        }
        for (const event of history) if (event.plural === plural && event.resourceVersion > from) response.write(event.line);
        if (url.searchParams.get('allowWatchBookmarks') === 'true') {
          response.write(`${JSON.stringify({ type: 'BOOKMARK', object: { apiVersion: 'weft.dev/v1alpha1', kind, metadata: { resourceVersion: String(resourceVersion) } } })}\n`);
        }
        const watcher = { plural, response };
        watchers.add(watcher);
        response.on('close', () => watchers.delete(watcher));
        return;
      }
      if (request.method === 'GET' && name === undefined) {
        const items = [...objects.values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ apiVersion: 'weft.dev/v1alpha1', kind: `${kind}List`, metadata: { resourceVersion: String(resourceVersion) }, items }));
        return;
      }
      const key = `${namespace}/${name}`;
      const existing = objects.get(key);
      if (request.method === 'POST' && name === undefined) {
        const body = await readBody(request);
        const metadata = body.metadata as Json;
        const newKey = `${namespace}/${String(metadata?.name)}`;
        if (objects.has(newKey)) return status(response, 409, 'AlreadyExists', `${plural}.weft.dev "${String(metadata?.name)}" already exists`);
        const saved = save(plural, { ...body, metadata: { ...metadata, namespace } }, undefined, true);
        response.writeHead(201, { 'content-type': 'application/json' });
        response.end(JSON.stringify(saved));
        return;
      }
      if (existing === undefined) return status(response, 404, 'NotFound', `${plural}.weft.dev "${name}" not found`);
      if (request.method === 'GET') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(existing));
        return;
      }
      const conflict = () => status(response, 409, 'Conflict', `Operation cannot be fulfilled on ${plural}.weft.dev "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      if (request.method === 'PUT') {
        const body = await readBody(request);
        const wanted = (body.metadata as Json | undefined)?.resourceVersion;
        if (wanted !== undefined && wanted !== existing.metadata.resourceVersion) return conflict();
        const saved =
          sub === 'status'
            ? save(plural, { ...existing, status: body.status }, existing, false)
            : save(plural, { ...body, status: existing.status, metadata: { ...(body.metadata as Json), namespace } }, existing, JSON.stringify(body.spec) !== JSON.stringify(existing.spec));
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(saved));
        return;
      }
      if (request.method === 'DELETE') {
        const body = await readBody(request);
        const wanted = (body.preconditions as Json | undefined)?.resourceVersion;
        if (wanted !== undefined && wanted !== existing.metadata.resourceVersion) return conflict();
        objects.delete(key);
        resourceVersion++;
        record(plural, 'DELETED', { ...existing, metadata: { ...existing.metadata, resourceVersion: String(resourceVersion) } });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: 'weft.dev', kind: plural, uid: existing.metadata.uid } }));
        return;
      }
      status(response, 405, 'MethodNotAllowed', `${request.method} is not supported here`);
    })().catch((error: Error) => status(response, 500, 'InternalError', error.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    token,
    caPem: root.certificatePem,
    kubeconfig: () =>
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: fake\n  cluster:\n    server: ${url}\n    tls-server-name: localhost\n    certificate-authority-data: ${Buffer.from(root.certificatePem).toString('base64')}`,
        'users:',
        `- name: weft\n  user:\n    token: ${token}`,
        'contexts:',
        '- name: fake\n  context:\n    cluster: fake\n    user: weft',
        'current-context: fake',
        '',
      ].join('\n'),
    objects: (plural) => [...bucket(plural).values()],
    put: (plural, object) => {
      const metadata = object.metadata as Json;
      const existing = bucket(plural).get(`${String(metadata.namespace)}/${String(metadata.name)}`);
      return save(plural, object, existing, existing === undefined || JSON.stringify(object.spec) !== JSON.stringify(existing.spec));
    },
    holdWatches: (hold) => {
      if (hold) held ??= [];
      else {
        const pending = held ?? [];
        held = undefined;
        for (const { response, line } of pending) if (!response.writableEnded) response.write(line);
      }
    },
    dropWatches: () => {
      for (const watcher of watchers) watcher.response.end();
      watchers.clear();
    },
    compact: () => {
      compactedAt = resourceVersion + 1;
    },
    requests,
    serviceAccountToken: ({ namespace, serviceAccount, audiences = ['weft-ca'], expiresInS = 3600 }) => {
      const now = Math.floor(Date.now() / 1000);
      const jti = randomUUID();
      const pod = { name: `${serviceAccount}-5d9c7b-x2x9q`, uid: randomUUID() };
      const subject = `system:serviceaccount:${namespace}:${serviceAccount}`;
      const claims = {
        aud: audiences, exp: now + expiresInS, iat: now, nbf: now, jti, sub: subject,
        iss: 'https://kubernetes.default.svc.cluster.local',
        'kubernetes.io': { namespace, pod, serviceaccount: { name: serviceAccount, uid: randomUUID() } },
      };
      const token = `${base64url({ alg: 'RS256', kid: 'fake' })}.${base64url(claims)}.${randomBytes(256).toString('base64url')}`;
      issuedTokens.set(token, {
        audiences,
        expiresAt: (now + expiresInS) * 1000,
        user: {
          username: subject,
          uid: randomUUID(),
          groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
          extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${jti}`], 'authentication.kubernetes.io/pod-name': [pod.name], 'authentication.kubernetes.io/pod-uid': [pod.uid] },
        },
      });
      return token;
    },
    userToken: (username) => {
      const token = randomBytes(24).toString('hex');
      issuedTokens.set(token, { user: { username, uid: randomUUID(), groups: ['system:authenticated'] }, expiresAt: Infinity });
      return token;
    },
    failTokenReviews: (code) => {
      reviewFailure = code;
    },
    answerTokenReviews: (answer) => {
      reviewAnswer = answer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const watcher of watchers) watcher.response.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
