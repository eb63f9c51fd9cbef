"""Two uninstrumented HTTP services for the multi-host linking test.

  front (namespace A): GET /front calls back's /api; GET /leaf answers.
  back  (namespace B): GET /api calls front's /leaf.

So one request to /front crosses A -> B -> A. Each request is served on its
own thread, and the outbound call is made on that thread, as thread
correlation expects. Prints "ready" once listening.
"""
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handler(routes):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            fn = routes.get(self.path)
            body = fn() if fn else b"not found"
            self.send_response(200 if fn else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return H


def call(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read()


def serve(addr, port, routes):
    s = ThreadingHTTPServer((addr, port), handler(routes))
    threading.Thread(target=s.serve_forever, daemon=True).start()


def main():
    role, a_addr, b_addr = sys.argv[1], sys.argv[2], sys.argv[3]
    if role == "front":
        serve(a_addr, 9000, {"/leaf": lambda: b"leaf"})
        serve(a_addr, 8000, {"/front": lambda: b"front:" + call(f"http://{b_addr}:8080/api")})
    else:
        serve(b_addr, 8080, {"/api": lambda: b"api:" + call(f"http://{a_addr}:9000/leaf")})
    print("ready", flush=True)
    threading.Event().wait()


main()
