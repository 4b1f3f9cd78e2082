"""An app on Python's http.server that reads paths the way SimpleHTTPRequestHandler.translate_path
does (percent-decoded, then posixpath.normpath), answers 200 to any method, and prints one JSON
line per request it served: method, its reading of the path, the target it received, and the
x-request-id. Prints its port first."""
import json
import posixpath
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


# One line per request, whole: the server's threads would otherwise interleave their writes.
printing = threading.Lock()


class Recorder(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def serve(self):
        length = int(self.headers.get('content-length') or 0)
        if length:
            self.rfile.read(length)
        received = self.path.split('?', 1)[0]
        path = posixpath.normpath(unquote(urlsplit(self.path).path))
        if received.endswith('/') and not path.endswith('/'):
            path += '/'
        line = json.dumps({'method': self.command, 'path': path, 'received': received,
                           'requestId': self.headers.get('x-request-id', '')})
        with printing:
            print(line, flush=True)
        body = json.dumps({'path': path}).encode()
        self.send_response(200)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def __getattr__(self, name):
        if name.startswith('do_'):
            return self.serve
        raise AttributeError(name)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(('127.0.0.1', 0), Recorder)
print(server.server_address[1], flush=True)
server.serve_forever()
