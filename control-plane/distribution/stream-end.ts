// The end of a sidecar's bidirectional stream, however it comes: the sidecar half-closes (answered
// by closing ours), the connection fails or closes, or the call is cancelled. Shared by the
// snapshot stream and the load stream, which forget the sidecar the same way.
import type { ServerDuplexStream } from '@grpc/grpc-js';

/** Calls `gone` when `call` ends for any reason (possibly more than once: `gone` must be idempotent). */
export function onStreamEnd<Request, Response>(call: ServerDuplexStream<Request, Response>, gone: () => void): void {
  call.on('end', () => {
    gone();
    call.end();
  });
  call.on('error', gone);
  call.on('close', gone);
  call.on('cancelled', gone);
}
