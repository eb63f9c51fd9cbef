#!/usr/bin/env python3
"""Socket workload for the ebpf receiver tests: every syscall kind the probe
traces, between a server thread and a client thread of one process.

Waits for a line on stdin before touching a socket (so the test can start the
capture first), then prints one JSON line of facts and exits.

  workload.py kinds FAMILY        read/write, readv/writev, recvfrom/sendto,
                                  recvmsg/sendmsg, a truncated 10000-byte call,
                                  accept (first connection) and accept4 (second)
  workload.py keepalive FAMILY N  N messages of varying size over one connection
  workload.py halfclose FAMILY    the client shuts down its sending side, then reads the answer
  workload.py preopened FAMILY    a connection made before the capture started
  workload.py finread FAMILY      the server answers and closes; the client reads the answer and the end in one read
  workload.py churn FAMILY N      N short connections from 8 threads at once, each closed with a reset
                                  (its socket freed inside close, its memory soon another socket's)
  workload.py dupclose FAMILY     the server closes the fd accept gave it and answers over a dup of it
"""
import ctypes
import json
import os
import socket
import struct
import sys
import threading
import time

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NAME = 15


def set_comm(name):
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()), 0, 0, 0)


def plain_accept(listener):
    """accept(2) itself: Python's socket.accept uses accept4."""
    fd = libc.accept(listener.fileno(), None, None)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "accept")
    return socket.socket(fileno=fd)


def recv_exactly(sock, n, how):
    """Reads exactly n bytes with the given syscall kind; returns the bytes."""
    out = b""
    while len(out) < n:
        want = n - len(out)
        if how == "read":
            chunk = os.read(sock.fileno(), want)
        elif how == "readv":
            # two buffers, so the payload spans iovecs
            first = bytearray(min(7, want))
            second = bytearray(want - len(first))
            got = os.readv(sock.fileno(), [first, second] if second else [first])
            chunk = (bytes(first) + bytes(second))[:got]
        elif how == "recvfrom":
            chunk = sock.recv(want)
        elif how == "recvmsg":
            chunk = sock.recvmsg(want)[0]
        else:
            raise ValueError(how)
        if not chunk:
            raise EOFError("peer closed")
        out += chunk
    return out


def send_all(sock, data, how):
    if how == "write":
        n = os.write(sock.fileno(), data)
    elif how == "writev":
        # three buffers: the probe reads iovec entries two at a time, so an odd count takes its other path
        third = len(data) // 3
        n = os.writev(sock.fileno(), [data[:third], data[third : 2 * third], data[2 * third :]])
    elif how == "sendto":
        n = sock.send(data)
    elif how == "sendmsg":
        half = len(data) // 2
        n = sock.sendmsg([data[:half], data[half:]])
    else:
        raise ValueError(how)
    if n != len(data):
        raise RuntimeError(f"short {how}: {n} of {len(data)}")


STEPS = [
    ("write", "read", b"GET /write-read HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("writev", "readv", b"writev-part-one|writev-part-two"),
    ("sendto", "recvfrom", b"*1\r\n$4\r\nPING\r\n"),
    ("sendmsg", "recvmsg", b"sendmsg-first-iov|sendmsg-second-iov"),
    ("write", "read", bytes((i * 7) % 251 for i in range(10000))),
    # the probe reserves room for 256, 1024 or 4096 payload bytes: each room, full and just over
    ("write", "read", bytes(range(256))),
    ("writev", "readv", bytes((i * 3) % 251 for i in range(700))),
    ("sendto", "recvfrom", bytes((i * 5) % 251 for i in range(1025))),
    ("sendmsg", "recvmsg", bytes((i * 11) % 251 for i in range(4096))),
]


def listener_for(family):
    fam = socket.AF_INET6 if family == "v6" else socket.AF_INET
    host = "::1" if family == "v6" else "127.0.0.1"
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.bind((host, 0))
    ls.listen(8)
    return ls, fam, host


def kinds(family):
    ls, fam, host = listener_for(family)
    port = ls.getsockname()[1]
    facts = {"pid": os.getpid(), "port": port, "steps": [], "conns": []}
    ready = threading.Event()

    def server():
        set_comm("espan-srv")
        facts["server_tid"] = threading.get_native_id()
        ready.set()
        for conn_no in range(2):
            conn = plain_accept(ls) if conn_no == 0 else ls.accept()[0]
            with conn:
                for send_how, recv_how, data in STEPS if conn_no == 0 else STEPS[:1]:
                    got = recv_exactly(conn, len(data), recv_how)
                    assert got == data
                    send_all(conn, b"ok", "write")
                # wait for the client's close, then close our side
                os.read(conn.fileno(), 1)

    t = threading.Thread(target=server)
    t.start()
    ready.wait()
    set_comm("espan-cli")
    facts["client_tid"] = threading.get_native_id()
    for conn_no in range(2):
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.connect((host, port))
        facts["conns"].append({"client_port": c.getsockname()[1]})
        for send_how, recv_how, data in STEPS if conn_no == 0 else STEPS[:1]:
            send_all(c, data, send_how)
            assert recv_exactly(c, 2, "read") == b"ok"
            if conn_no == 0:
                facts["steps"].append({"send": send_how, "recv": recv_how, "hex": data.hex()})
        c.close()
    t.join()
    ls.close()
    return facts


def keepalive(family, count):
    ls, fam, host = listener_for(family)
    port = ls.getsockname()[1]
    sizes = [10 + (i * 997) % 6000 for i in range(count)]
    facts = {"pid": os.getpid(), "port": port, "sizes": sizes}

    def server():
        set_comm("espan-srv")
        conn = ls.accept()[0]
        with conn:
            for i, n in enumerate(sizes):
                recv_exactly(conn, n, "read")
                send_all(conn, b"%06d" % i, "write")
            os.read(conn.fileno(), 1)

    t = threading.Thread(target=server)
    t.start()
    set_comm("espan-cli")
    c = socket.create_connection((host, port))
    facts["client_port"] = c.getsockname()[1]
    for i, n in enumerate(sizes):
        send_all(c, bytes([i % 256]) * n, "write")
        recv_exactly(c, 6, "read")
    c.close()
    t.join()
    ls.close()
    return facts


def read_to_end(fd):
    data = b""
    while True:
        got = os.read(fd, 4096)
        if not got:
            return data
        data += got


def halfclose(family):
    ls, fam, host = listener_for(family)
    port = ls.getsockname()[1]

    def server():
        conn = ls.accept()[0]
        with conn:
            read_to_end(conn.fileno())
            send_all(conn, b"answer after the request's end", "write")

    t = threading.Thread(target=server)
    t.start()
    c = socket.create_connection((host, port))
    facts = {"pid": os.getpid(), "port": port, "client_port": c.getsockname()[1]}
    send_all(c, b"the whole request", "write")
    c.shutdown(socket.SHUT_WR)
    facts["answer"] = read_to_end(c.fileno()).decode()
    c.close()
    t.join()
    ls.close()
    return facts


def finread(family):
    ls, fam, host = listener_for(family)
    port = ls.getsockname()[1]
    c = socket.create_connection((host, port))
    conn = ls.accept()[0]
    facts = {"pid": os.getpid(), "port": port, "client_port": c.getsockname()[1]}
    send_all(conn, b"answer, then the end", "write")
    conn.close()
    time.sleep(0.2)  # the FIN is queued behind the answer before the client reads
    facts["answer"] = os.read(c.fileno(), 4096).decode()
    assert os.read(c.fileno(), 4096) == b""
    c.close()
    ls.close()
    return facts


def churn(family, count):
    ls, fam, host = listener_for(family)
    ls.listen(64)
    port = ls.getsockname()[1]
    threads = 8
    results = threading.Lock()
    handshake = threading.Lock()
    facts = {"pid": os.getpid(), "port": port, "client_ports": []}

    def worker():
        ports = []
        for _ in range(count // threads):
            with handshake:  # each thread accepts its own connection
                c = socket.create_connection((host, port))
                conn = ls.accept()[0]
            send_all(c, b"ping", "write")
            recv_exactly(conn, 4, "read")
            send_all(conn, b"pong", "write")
            recv_exactly(c, 4, "read")
            ports.append(c.getsockname()[1])
            # linger 0: close sends a reset and frees the socket inside the call, and then the peer's close frees its own
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            conn.close()
        with results:
            facts["client_ports"] += ports

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    ls.close()
    return facts


def connected_pair(family):
    """A listener, one connection's client and server sockets, and the facts naming them."""
    ls, fam, host = listener_for(family)
    c = socket.create_connection((host, ls.getsockname()[1]))
    conn = ls.accept()[0]
    return ls, c, conn, {"pid": os.getpid(), "port": ls.getsockname()[1], "client_port": c.getsockname()[1]}


def dupclose(family):
    ls, c, conn, facts = connected_pair(family)
    send_all(c, b"ping", "write")
    # as a forking server's parent does: the connection lives on in the other fd
    other = socket.socket(fileno=os.dup(conn.fileno()))
    conn.close()
    assert recv_exactly(other, 4, "read") == b"ping"
    send_all(other, b"pong", "write")
    assert recv_exactly(c, 4, "read") == b"pong"
    c.close()
    os.read(other.fileno(), 1)
    other.close()
    ls.close()
    return facts


def preopened(family):
    """Connects before waiting for the go line, then talks and closes after it."""
    ls, c, conn, facts = connected_pair(family)
    sys.stdin.readline()
    send_all(c, b"ping", "write")
    assert recv_exactly(conn, 4, "read") == b"ping"
    send_all(conn, b"pong", "write")
    assert recv_exactly(c, 4, "read") == b"pong"
    c.close()
    os.read(conn.fileno(), 1)
    conn.close()
    ls.close()
    return facts


def main():
    mode, family = sys.argv[1], sys.argv[2]
    if mode == "preopened":
        print(json.dumps(preopened(family)), flush=True)
        return
    sys.stdin.readline()
    if mode == "kinds":
        facts = kinds(family)
    elif mode == "halfclose":
        facts = halfclose(family)
    elif mode == "finread":
        facts = finread(family)
    elif mode == "dupclose":
        facts = dupclose(family)
    elif mode == "churn":
        facts = churn(family, int(sys.argv[3]))
    else:
        facts = keepalive(family, int(sys.argv[3]))
    print(json.dumps(facts), flush=True)


if __name__ == "__main__":
    main()
