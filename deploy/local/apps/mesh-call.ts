// Calls another workload through this app's outbound sidecar: plain HTTP to the sidecar with
// the service's name in Host (the sidecar routes by it and originates mTLS).
import { request } from 'node:http';

export interface MeshResponse {
  readonly status: number;
  readonly body: unknown;
}

export function callService(outbound: URL, service: string, path: string, options: { method?: string; json?: unknown } = {}): Promise<MeshResponse> {
  const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: outbound.hostname,
        port: outbound.port,
        path,
        method: options.method ?? 'GET',
        headers: { host: service, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Sidecar local replies are text/plain; keep them as text.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${service} within 5 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Reads a small JSON request body. */
export async function readJson(stream: NodeJS.ReadableStream): Promise<unknown> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.length > 65536) throw new Error('request body too large');
  }
  return text === '' ? {} : JSON.parse(text);
}
