"""An asyncio event-loop service for the span tests (standard library only):
for each GET /work?id=N it sends GET req:N then SET req:N over one shared
Redis connection (pipelined, answers in order), as loop.js does, so requests
overlap on one thread. Answers HTTP/1.1 and closes the connection.

Usage: REDIS_PASSWORD=… loop_asyncio.py PORT REDIS_PORT
"""
import asyncio
import collections
import json
import os
import sys
from urllib.parse import parse_qs, urlparse

PORT, REDIS_PORT = (int(x) for x in sys.argv[1:3])


class Redis:
    """One connection; each command's reply resolves the oldest waiting future."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.waiting = collections.deque()
        asyncio.get_running_loop().create_task(self.read_replies())

    async def read_replies(self):
        while True:
            line = await self.reader.readline()
            if not line:
                return
            value = line[1:-2]
            if line[:1] == b"$" and int(value) >= 0:
                value = (await self.reader.readexactly(int(value) + 2))[:-2]
            self.waiting.popleft().set_result(value)

    def command(self, *args):
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            a = str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.writer.write(b"".join(parts))
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        return future


async def main():
    reader, writer = await asyncio.open_connection("127.0.0.1", REDIS_PORT)
    redis = Redis(reader, writer)
    await redis.command("AUTH", os.environ["REDIS_PASSWORD"])

    async def serve(r, w):
        request = await r.readuntil(b"\r\n\r\n")
        target = request.split(b" ", 2)[1].decode()
        rid = parse_qs(urlparse(target).query).get("id", ["0"])[0]
        await redis.command("GET", f"req:{rid}")
        await redis.command("SET", f"req:{rid}", "value")
        body = json.dumps({"id": int(rid)}).encode()
        w.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
        await w.drain()
        w.close()

    server = await asyncio.start_server(serve, "127.0.0.1", PORT)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
