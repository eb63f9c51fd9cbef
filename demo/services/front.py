"""The demo's front service: thread-per-request (ThreadingHTTPServer), calls
redis-server, mariadb and the Node inventory service for each request. Not
instrumented: espan sees it only through its sockets.

Usage: front.py PORT REDIS_PORT MYSQL_PORT INVENTORY_PORT
"""
import json
import sys
import threading
import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

import pymysql
import redis

PORT, REDIS_PORT, MYSQL_PORT, INVENTORY_PORT = (int(x) for x in sys.argv[1:5])
local = threading.local()


def clients():
    # One connection of each kind per thread: a request's calls stay on its thread.
    if not hasattr(local, "redis"):
        local.redis = redis.Redis(host="127.0.0.1", port=REDIS_PORT)
        local.db = pymysql.connect(host="127.0.0.1", port=MYSQL_PORT, user="app",
                                   password="app-secret", database="shop", autocommit=True)
        local.inventory = http.client.HTTPConnection("127.0.0.1", INVENTORY_PORT, timeout=10)
    return local.redis, local.db, local.inventory


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/checkout":
            self.send_error(404)
            return
        user = int(parse_qs(url.query).get("user", ["1"])[0])
        r, db, inventory = clients()
        visits = r.incr(f"visits:{user}")
        with db.cursor() as cur:
            cur.execute("SELECT name, email FROM users WHERE id = %s", (user,))
            row = cur.fetchone()
        inventory.request("GET", f"/stock/{user}")
        stock = json.loads(inventory.getresponse().read())
        status = 200 if row else 404
        body = json.dumps({"user": row[0] if row else None, "visits": visits, "stock": stock}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()
