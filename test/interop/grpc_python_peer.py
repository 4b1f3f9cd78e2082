"""A python3-grpcio peer for weft's gRPC interop test: raw bytes as messages (no generated code).

server: serves weft.test.Echo (Unary, Chat, Slow) on 127.0.0.1:0 and prints its port.
client PORT AUTHORITY: runs the scenarios through PORT and prints one JSON object of results.
"""
import json
import sys
import time
from concurrent import futures

import grpc

SERVICE = "weft.test.Echo"


def unary(request, context):
    wanted = dict(context.invocation_metadata()).get("x-echo-status")
    context.set_trailing_metadata((("x-trailer-bin", b"\x00\x01\xfe\xff"), ("x-trailer", "plain")))
    if wanted is not None:
        context.abort(next(c for c in grpc.StatusCode if c.value[0] == int(wanted)), "python: asked to fail")
    return b"py:" + request


def chat(requests, context):
    for message in requests:
        yield b"echo:" + message


def slow(request, context):
    for _ in range(60):
        if not context.is_active():
            return b""
        time.sleep(0.05)
    return request


def serve():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(unary),
            "Chat": grpc.stream_stream_rpc_method_handler(chat),
            "Slow": grpc.unary_unary_rpc_method_handler(slow),
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()
    server.stop(0)


def client(port, authority):
    results = {}
    options = (("grpc.default_authority", authority),)
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        call_unary = channel.unary_unary(f"/{SERVICE}/Unary")
        reply, call = call_unary.with_call(b"hello", metadata=(("x-meta-bin", b"\x00\xff"),), timeout=10)
        results["unary"] = {"reply": reply.decode(), "trailers": {k: (v.hex() if isinstance(v, bytes) else v) for k, v in call.trailing_metadata()}}
        try:
            call_unary(b"x", metadata=(("x-echo-status", "9"),), timeout=10)
            results["failed"] = None
        except grpc.RpcError as error:
            results["failed"] = {"code": error.code().name, "details": error.details()}
        chat = channel.stream_stream(f"/{SERVICE}/Chat")
        results["bidi"] = [m.decode() for m in chat(iter([b"one", b"two", b"three"]), timeout=10)]
        slow = channel.unary_unary(f"/{SERVICE}/Slow")
        try:
            slow(b"slow", timeout=0.3)
            results["deadline"] = None
        except grpc.RpcError as error:
            results["deadline"] = {"code": error.code().name}
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve()
    else:
        client(int(sys.argv[2]), sys.argv[3])
