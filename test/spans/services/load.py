"""Concurrent load for the span tests: CLIENTS threads, each sending REQUESTS
GET /work?id=N (N unique) on fresh connections, all starting together. Every
request carries an Authorization header, a Cookie and a W3C traceparent whose
trace id encodes N. Prints {"ids": [...], "errors": n}.

Usage: load.py HOST:PORT CLIENTS REQUESTS ID_BASE
"""
import http.client
import json
import sys
import threading

target, clients, requests, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
host, port = target.split(":")
barrier = threading.Barrier(clients)
ids, errors = [], []
lock = threading.Lock()


def worker(w):
    barrier.wait()
    for i in range(requests):
        rid = base + w * 1000 + i
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request("GET", f"/work?id={rid}", headers={
                "Authorization": "Bearer SECRET-BEARER-TOKEN",
                "Cookie": "session=SECRET-COOKIE-VALUE",
                "User-Agent": "espan-load/1",
                "traceparent": f"00-{rid:032x}-{rid + 1:016x}-01",
            })
            conn.getresponse().read()
            conn.close()
            with lock:
                ids.append(rid)
        except Exception as e:  # counted: the test decides what is acceptable
            with lock:
                errors.append(str(e))


threads = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"ids": ids, "errors": len(errors), "first_error": errors[0] if errors else None}))
