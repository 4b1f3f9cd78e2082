// A gRPC call's outcome as the bridge answers it: the status codes, Envoy's table of gRPC status
// -> HTTP status (grpc_json_transcoder, and grpc-gateway's), and the error the bridge answers
// with, whose `fault.rpcStatus` is the google.rpc.Status (code, message, details) of the call:
// from `grpc-status-details-bin` when the server sent one, else from grpc-status/grpc-message.
import { createRequire } from 'node:module';
import { status as grpcStatus } from '@grpc/grpc-js';
import type * as Protobuf from 'protobufjs';
import { BridgeError } from '../bridge-errors.js';
import type { JsonValue } from '../codec.js';
import type { ProtoJson } from './proto-json.js';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs') as typeof Protobuf;


/** Envoy's mapping (source/common/grpc/status.cc); codes not listed, and unknown ones, are 500. */
const HTTP_STATUS: Readonly<Record<string, number>> = {
  CANCELLED: 499,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  UNAUTHENTICATED: 401,
};

/** A status code's name (`NOT_FOUND`), or its number when gRPC has no such code. */
function codeName(code: number): string {
  return (grpcStatus as unknown as Record<number, string | undefined>)[code] ?? String(code);
}

export function httpStatusOfGrpc(code: number): number {
  return HTTP_STATUS[codeName(code)] ?? 500;
}

/** google.rpc.Status, to read `grpc-status-details-bin`. */
const rpcStatusType = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        rpc: { nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 } } } } },
        protobuf: { nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } } },
      },
    },
  },
}).lookupType('google.rpc.Status');

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The error for a call that ended with `code` (not OK). 4xx statuses keep the server's message
 * and details; the 500s (UNKNOWN, INTERNAL, DATA_LOSS...) often carry an exception's text, so
 * theirs go to the log (the error's cause) and the caller gets only the code.
 */
export function grpcStatusError(code: number, rawMessage: string | undefined, detailsBin: string | undefined, json: ProtoJson): BridgeError {
  const name = codeName(code);
  let message = percentDecoded(rawMessage ?? '');
  let details: JsonValue[] = [];
  if (detailsBin !== undefined) {
    try {
      const status = rpcStatusType.decode(Buffer.from(detailsBin, 'base64')) as unknown as { message?: string; details?: { type_url: string; value: Uint8Array }[] };
      details = (status.details ?? []).map((any) => json.anyToJson(any.type_url, any.value));
      if (message === '' && status.message !== undefined) message = status.message;
    } catch {
      details = [];
    }
  }
  const status = httpStatusOfGrpc(code);
  const cause = new Error(`grpc-status ${code} (${name}): ${message}`);
  if (status === 500) {
    const hidden = 'the legacy system failed';
    return new BridgeError('LEGACY_SERVER_FAULT', hidden, { status, cause, fault: { code: name, message: hidden, rpcStatus: { code, message: hidden, details: [] } } });
  }
  const text = message === '' ? name : message;
  return new BridgeError(status < 500 ? 'LEGACY_CLIENT_FAULT' : 'LEGACY_SERVER_FAULT', text, { status, cause, fault: { code: name, message: text, rpcStatus: { code, message: text, details } } });
}
