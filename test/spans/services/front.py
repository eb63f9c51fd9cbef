"""A thread-per-request service (ThreadingHTTPServer) for the span tests: for
each GET /work?id=N it opens its own Redis and MySQL connections (both
authenticate with passwords), runs SET/GET req:N and a SELECT carrying
'req-N', and answers. Every 10th id queries a missing table and answers 500.
Secrets come from the environment, never the command line.

Usage: REDIS_PASSWORD=… MYSQL_PASSWORD=… front.py PORT REDIS_PORT MYSQL_PORT
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pymysql
import redis

PORT, REDIS_PORT, MYSQL_PORT = (int(x) for x in sys.argv[1:4])
REDIS_PASSWORD = os.environ["REDIS_PASSWORD"]
MYSQL_PASSWORD = os.environ["MYSQL_PASSWORD"]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        rid = int(parse_qs(url.query).get("id", ["0"])[0])
        r = redis.Redis(host="127.0.0.1", port=REDIS_PORT, password=REDIS_PASSWORD)
        r.set(f"req:{rid}", "value")
        r.get(f"req:{rid}")
        r.connection_pool.disconnect()
        db = pymysql.connect(host="127.0.0.1", port=MYSQL_PORT, user="app", password=MYSQL_PASSWORD, database="shop")
        status = 200
        try:
            with db.cursor() as cur:
                table = "missing_table" if rid % 10 == 0 else "users"
                cur.execute(f"SELECT 'req-{rid}', name FROM {table} WHERE email = 'ada@example.com'")
                cur.fetchall()
        except pymysql.MySQLError:
            status = 500
        finally:
            db.close()
        body = json.dumps({"id": rid}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    print("ready", flush=True)
    server.serve_forever()
