"""library.v1.Library (test/proxy/bridge/fixtures/library.proto) in python3-grpcio, for the
bridge's transcoding interop test: the same behaviour as test/helpers/grpc-library.ts.

Usage: grpc_library_service.py GENERATED_DIR  (the output of protoc --python_out and
grpc_python_plugin for library.proto and google/api). Prints the port, serves until stdin closes.
"""
import sys
import threading
import time
from concurrent import futures

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf import any_pb2, json_format  # noqa: E402

import library_pb2  # noqa: E402
import library_pb2_grpc  # noqa: E402


def status_details(code, message):
    """A google.rpc.Status written field by field (no googleapis status module in Debian)."""
    detail = any_pb2.Any()
    detail.Pack(library_pb2.Author(display_name="detail"))
    packed = detail.SerializeToString()
    text = message.encode()
    return bytes([0x08, code, 0x12, len(text)]) + text + bytes([0x1A, len(packed)]) + packed


class Library(library_pb2_grpc.LibraryServicer):
    def GetBook(self, request, context):
        book_id = request.name.rsplit("/", 1)[-1]
        if book_id == "404":
            context.abort(grpc.StatusCode.NOT_FOUND, "no book " + request.name)
        return library_pb2.Book(id=int(book_id), title="Book " + request.name)

    def ListBooks(self, request, context):
        return library_pb2.ListBooksResponse(next_page_token=json_format.MessageToJson(request, preserving_proto_field_name=True, indent=None))

    def CreateBook(self, request, context):
        book = library_pb2.Book()
        book.CopyFrom(request.book)
        book.id = request.shelf_id * 1000 + 1
        return book

    def UpdateBook(self, request, context):
        book = library_pb2.Book()
        book.CopyFrom(request.book)
        book.title = "%s (%s)" % (book.title, request.reason)
        return book

    def GetShelf(self, request, context):
        return library_pb2.Shelf(id=request.id, title="Shelf %d" % request.id)

    def DeleteBook(self, request, context):
        from google.protobuf import empty_pb2

        return empty_pb2.Empty()

    def Fail(self, request, context):
        code = next(c for c in grpc.StatusCode if c.value[0] == request.code)
        if request.code == 3:
            context.set_trailing_metadata((("grpc-status-details-bin", status_details(3, request.message)),))
        context.abort(code, request.message)

    def Echo(self, request, context):
        if request.title == "slow":
            time.sleep(2)
        return request

    def ImportBooks(self, request_iterator, context):
        books = []
        for book in request_iterator:
            imported = library_pb2.Book()
            imported.CopyFrom(book)
            imported.id = len(books) + 1
            books.append(imported)
        return library_pb2.ListBooksResponse(books=books, next_page_token=str(len(books)))

    def ChatBooks(self, request_iterator, context):
        for book in request_iterator:
            answer = library_pb2.Book()
            answer.CopyFrom(book)
            answer.title = "Re: " + book.title
            yield answer

    def WatchBooks(self, request, context):
        for i in range(1, request.page_size + 1):
            yield library_pb2.Book(id=request.shelf_id * 1000 + i, title="Book %d" % i)
        if "fail" in request.tags:
            context.abort(grpc.StatusCode.NOT_FOUND, "shelf gone")


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    library_pb2_grpc.add_LibraryServicer_to_server(Library(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    server.stop(0)


if __name__ == "__main__":
    main()
