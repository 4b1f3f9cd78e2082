// A request body read ahead of forwarding, for a filter that decides on it (authz with body
// buffering): read up to a cap and within a deadline, then forwarded upstream byte for byte,
// the bytes read first and whatever of the body was not read after them.
import { Readable } from 'node:stream';

export interface BufferedBody {
  /** The bytes read: the whole body, or, when `complete` is false, more than the cap asked for. */
  readonly bytes: Buffer;
  /** Whether `bytes` is the whole body. */
  readonly complete: boolean;
}

export class BodyTimeoutError extends Error {}

export const emptyBody: BufferedBody = Object.freeze({ bytes: Buffer.alloc(0), complete: true });

/**
 * Reads `body` until it ends or more than `maxBytes` came (then it is paused, the rest unread).
 * Rejects with BodyTimeoutError past `timeoutMs`, and when the body is cut short.
 */
export function readBodyPrefix(body: Readable, maxBytes: number, timeoutMs: number): Promise<BufferedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Error | undefined, complete: boolean): void => {
      clearTimeout(timer);
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      // The rest is not wanted after a failure; a stream held paused would keep the connection.
      if (error !== undefined) return reject(error);
      // Paused with the listener gone, or a flowing stream would drop what comes next.
      body.pause();
      resolve({ bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), complete });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) settle(undefined, false);
    };
    const onEnd = (): void => settle(undefined, true);
    const onError = (error: Error): void => settle(error, false);
    const onClose = (): void => settle(new Error('request body cut short'), false);
    const timer = setTimeout(() => settle(new BodyTimeoutError('request body not received in time'), false), Math.max(0, timeoutMs));
    body.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    body.resume();
  });
}

async function* prefixThenRest(prefix: Buffer, rest: Readable): AsyncGenerator<Buffer> {
  yield prefix;
  for await (const chunk of rest) yield chunk as Buffer;
}

/** The body to forward: exactly the bytes the caller sent, those already read first. */
export function replayBody(buffered: BufferedBody, rest: Readable): Readable {
  return Readable.from(buffered.complete ? [buffered.bytes] : prefixThenRest(buffered.bytes, rest), { objectMode: false });
}
