// What the sidecar reads of gRPC on the wire (it never decodes messages): whether a request is
// gRPC, its `grpc-timeout` deadline, and the count of length-prefixed messages in a body.

/** Whether a content-type names gRPC (`application/grpc`, `application/grpc+proto`, ...). */
export function isGrpcContentType(value: string | undefined): boolean {
  return value !== undefined && value.startsWith('application/grpc') && (value.length === 16 || value[16] === '+' || value[16] === ';');
}

const timeoutUnitsMs: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * A `grpc-timeout` value (1 to 8 ASCII digits and a unit H M S m u n) in milliseconds, or
 * undefined when it is malformed (the spec treats a malformed timeout as absent).
 */
export function parseGrpcTimeout(value: string): number | undefined {
  if (value.length < 2 || value.length > 9) return undefined;
  const unit = timeoutUnitsMs[value[value.length - 1]!];
  const digits = value.slice(0, -1);
  if (unit === undefined || !/^[0-9]+$/.test(digits)) return undefined;
  return Number(digits) * unit;
}

/**
 * Counts messages in a gRPC body stream: each message is a 1-byte flag, a 4-byte big-endian
 * length and the payload. Chunks split anywhere, so the counter keeps where it is in the frame.
 */
export class GrpcMessageCounter {
  messages = 0;
  /** Bytes still to skip in the current message's payload. */
  private remaining = 0;
  /** Prefix bytes of the next message seen so far (0..4), and the length read from them. */
  private prefixSeen = 0;
  private length = 0;

  feed(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, n - i);
        this.remaining -= skip;
        i += skip;
        continue;
      }
      // Byte 0 is the compressed flag; bytes 1..4 the length.
      if (this.prefixSeen > 0) this.length = this.length * 256 + chunk[i]!;
      this.prefixSeen++;
      i++;
      if (this.prefixSeen === 5) {
        this.messages++;
        this.remaining = this.length;
        this.prefixSeen = 0;
        this.length = 0;
      }
    }
  }
}
