// The webhook's HTTPS server. The API server posts an AdmissionReview to /inject/namespace (the
// pod's namespace carries the label) or /inject/pod (only the pod's annotation may ask); the
// answer is the review with the patch. Bodies are bounded; a body that is not a review gets 400,
// which the API server treats as the webhook failing (its failurePolicy then decides).
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { MalformedReview, reviewPod } from './admission-review.js';
import type { InjectionSettings } from './injection-settings.js';
import type { OptIn } from './pod-injection.js';

/** The API server caps objects at 3 MiB; a review carries one object and some metadata. */
export const MAX_REVIEW_BYTES = 4 * 1024 * 1024;
export const WEBHOOK_PATHS: Readonly<Record<string, OptIn>> = { '/inject/namespace': 'namespace', '/inject/pod': 'pod' };

export interface InjectorServerOptions {
  readonly certPem: string;
  readonly keyPem: string;
  readonly host: string;
  readonly port: number;
  readonly settings: InjectionSettings;
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

export async function startInjectorServer(options: InjectorServerOptions): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer({ cert: options.certPem, key: options.keyPem, minVersion: 'TLSv1.2' }, (request, response) => {
    const path = (request.url ?? '').split('?')[0]!;
    if (request.method === 'GET' && path === '/healthz') return answer(response, 200, { status: 'ok' });
    const optIn = Object.hasOwn(WEBHOOK_PATHS, path) ? WEBHOOK_PATHS[path] : undefined;
    if (optIn === undefined) return answer(response, 404, { error: `no webhook at ${path}` });
    if (request.method !== 'POST') return answer(response, 405, { error: 'POST an AdmissionReview' });
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REVIEW_BYTES) {
        answer(response, 413, { error: `the review is larger than ${MAX_REVIEW_BYTES} bytes` });
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (response.headersSent) return;
      try {
        answer(response, 200, reviewPod(JSON.parse(Buffer.concat(chunks).toString('utf8')), optIn, options.settings));
      } catch (error) {
        if (error instanceof SyntaxError || error instanceof MalformedReview) {
          answer(response, 400, { error: `not an AdmissionReview: ${error.message}` });
          return;
        }
        // A bug must not take the webhook down for every other pod: this review fails (and the
        // webhook's failurePolicy decides), the next is answered.
        process.stderr.write(`weft injector: review failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        answer(response, 500, { error: 'the injector failed on this review' });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return { server, address: server.address() as AddressInfo };
}
