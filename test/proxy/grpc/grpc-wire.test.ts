// What the sidecar reads of gRPC on the wire: content-types, grpc-timeout values (malformed ones
// ignored), message counts across arbitrary chunk boundaries, and grpc-message encoding.
import { describe, expect, it } from 'vitest';
import { GrpcMessageCounter, isGrpcContentType, parseGrpcTimeout } from '../../../proxy/grpc/grpc-wire.js';
import { encodeGrpcMessage } from '../../../proxy/local-reply.js';

describe('gRPC wire', () => {
  it('tells gRPC content-types from others', () => {
    for (const value of ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc;charset=utf-8']) expect(isGrpcContentType(value)).toBe(true);
    for (const value of [undefined, 'application/json', 'application/grpc-web', 'application/grpcx', 'text/plain']) expect(isGrpcContentType(value)).toBe(false);
  });

  it('parses grpc-timeout in every unit and ignores malformed values', () => {
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('2M')).toBe(120_000);
    expect(parseGrpcTimeout('3S')).toBe(3000);
    expect(parseGrpcTimeout('200m')).toBe(200);
    expect(parseGrpcTimeout('5000u')).toBe(5);
    expect(parseGrpcTimeout('99999999n')).toBeCloseTo(99.999999);
    for (const bad of ['', 'm', '10', '10x', '-5m', '1.5S', '123456789S', ' 5S', '5 S']) expect(parseGrpcTimeout(bad)).toBeUndefined();
  });

  it('counts length-prefixed messages split anywhere across chunks', () => {
    const message = (length: number): Buffer => {
      const frame = Buffer.alloc(5 + length, 0x61);
      frame[0] = 0;
      frame.writeUInt32BE(length, 1);
      return frame;
    };
    const stream = Buffer.concat([message(0), message(3), message(70_000), message(1)]);
    for (const step of [1, 2, 5, 7, 4096, stream.length]) {
      const counter = new GrpcMessageCounter();
      for (let i = 0; i < stream.length; i += step) counter.feed(stream.subarray(i, i + step));
      expect(counter.messages).toBe(4);
    }
  });

  it('percent-encodes grpc-message outside printable ASCII, and % itself', () => {
    expect(encodeGrpcMessage('plain text: ok')).toBe('plain text: ok');
    expect(encodeGrpcMessage('100% ü\n')).toBe('100%25 %C3%BC%0A');
  });
});
