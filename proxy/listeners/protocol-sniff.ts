// Which protocol a plaintext connection speaks, from its first bytes: HTTP/2 with prior knowledge
// starts with the client preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, and no HTTP/1.1 method is
// `PRI`, so four bytes decide. What was read is put back before the connection is handed on.
import type { Socket } from 'node:net';

const PREFACE_START = Buffer.from('PRI ');

export type PlaintextProtocol = 'h2c' | 'http/1.1';

/**
 * Waits for enough bytes to tell HTTP/2 from HTTP/1.1, then calls `serve`; a connection that
 * sends nothing decisive within `timeoutMs` is closed.
 */
export function sniffPlaintext(socket: Socket, timeoutMs: number, serve: (protocol: PlaintextProtocol) => void): void {
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  let head: Buffer = Buffer.alloc(0);
  const stop = (): void => {
    clearTimeout(timer);
    socket.off('readable', onReadable);
    socket.off('close', stop);
    socket.off('end', hangUp);
  };
  // HTTP servers keep sockets half-open; one that ends before deciding is done.
  const hangUp = (): void => {
    stop();
    socket.destroy();
  };
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const seen = Math.min(head.length, PREFACE_START.length);
    if (seen === 0) return;
    const isPreface = head.subarray(0, seen).equals(PREFACE_START.subarray(0, seen));
    if (isPreface && seen < PREFACE_START.length) return;
    stop();
    socket.unshift(head);
    serve(isPreface ? 'h2c' : 'http/1.1');
  };
  socket.on('readable', onReadable);
  socket.once('close', stop);
  socket.once('end', hangUp);
  // Bytes already read and put back (by the TLS-or-plaintext sniff) raise no new 'readable'.
  if (socket.readableLength > 0) onReadable();
}
