#!/usr/bin/env bash
# Records the L7 test captures in test/l7/testdata/ with tcpdump on loopback,
# against real servers started here on free ports in a temp dir:
#   http-node.pcap    Node http server; Node keep-alive client, pipelined, 100-continue, HTTP/1.0
#   http-nginx.pcap   nginx; curl (keep-alive, HEAD, 404, 405, HTTP/1.0)
#   http-nginx-snap200.pcap  the same traffic with a 200-byte snap length (truncated capture)
#   redis.pcap        redis-server; redis-cli (RESP2, RESP3, SELECT, errors), python3-redis (MULTI/EXEC, pub/sub), Node RESP client
#   mysql.pcap        mariadb-server; mariadb client (errors), python3-pymysql, Node client (prepared statements)
# and, with the same clients, probe records taken by espan's own ebpf receiver (record exporter):
#   http-node.espancap, redis.espancap, mysql.espancap   (skipped with EBPF=0)
# Needs root (tcpdump), redis-server, mariadb-server, nginx, curl, python3-redis, python3-pymysql.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/test/l7/testdata}
mkdir -p "$OUT"
T=$(mktemp -d /tmp/espan-l7.XXXXXX)
PIDS=()
CAP=
cleanup() {
  for p in "${PIDS[@]}" $CAP; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
TSX="node --import tsx"
# Debian's python3, which has python3-redis and python3-pymysql (a pyenv python on PATH may not)
PY=/usr/bin/python3
TRAFFIC="$ROOT/test/l7/fixtures/traffic.ts"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }

capture_start() { # file port [snaplen]
  tcpdump -i lo --immediate-mode -s "${3:-0}" -U -w "$1" "tcp port $2" 2>"$T/tcpdump.err" &
  CAP=$!
  for _ in $(seq 1 50); do grep -q listening "$T/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
  sleep 0.2
}
capture_stop() { sleep 1; kill -TERM "$CAP"; wait "$CAP" 2>/dev/null || true; CAP=; }

# espan itself as the recorder: ebpf receiver → record exporter, only connections on the port
EBPF=${EBPF:-1}
ebpf_start() { # file port
  cat > "$T/ebpf.yaml" <<YAML
receivers:
  ebpf:
    trace_all_processes: true
    ports: [$2]
exporters:
  record:
    path: $1
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces/capture:
      receivers: [ebpf]
      exporters: [record]
YAML
  "$ROOT/bin/espan" run --config "$T/ebpf.yaml" >"$T/espan.log" 2>&1 &
  CAP=$!
  for _ in $(seq 1 100); do grep -q 'espan is running' "$T/espan.log" 2>/dev/null && break; sleep 0.1; done
  grep -q 'espan is running' "$T/espan.log" || { cat "$T/espan.log" >&2; return 1; }
}

# --- HTTP: Node server and clients
P=$(free_port)
$TSX "$TRAFFIC" http-server "$P" & PIDS+=($!)
wait_port "$P"
capture_start "$OUT/http-node.pcap" "$P"
$TSX "$TRAFFIC" http-client "$P"
capture_stop
if [ "$EBPF" = 1 ]; then ebpf_start "$OUT/http-node.espancap" "$P"; $TSX "$TRAFFIC" http-client "$P"; capture_stop; fi

# --- HTTP: nginx and curl
P=$(free_port)
mkdir -p "$T/www"
echo '<html>hello</html>' > "$T/www/index.html"
head -c 20000 /dev/zero | tr '\0' 'a' > "$T/www/big.txt"
cat > "$T/nginx.conf" <<NGINX
daemon off; master_process off; worker_processes 1;
error_log $T/nginx-error.log; pid $T/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $T; proxy_temp_path $T; fastcgi_temp_path $T; uwsgi_temp_path $T; scgi_temp_path $T;
  server { listen 127.0.0.1:$P; root $T/www; keepalive_timeout 5; }
}
NGINX
nginx -c "$T/nginx.conf" -p "$T" & PIDS+=($!)
wait_port "$P"
curl_traffic() {
  curl -s -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' -H 'Authorization: Basic c2VjcmV0' \
    "http://127.0.0.1:$P/index.html" "http://127.0.0.1:$P/big.txt" "http://127.0.0.1:$P/nope" >/dev/null
  curl -s -o /dev/null -I "http://127.0.0.1:$P/index.html"
  curl -s -o /dev/null -0 "http://127.0.0.1:$P/index.html"
  curl -s -o /dev/null -d 'name=value' "http://127.0.0.1:$P/index.html"
}
capture_start "$OUT/http-nginx.pcap" "$P"
curl_traffic
capture_stop
capture_start "$OUT/http-nginx-snap200.pcap" "$P" 200
curl_traffic
capture_stop

# --- Redis
P=$(free_port)
redis-server --port "$P" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >/dev/null & PIDS+=($!)
wait_port "$P"
redis_traffic() {
redis-cli -p "$P" SET user:1 alice >/dev/null
redis-cli -p "$P" GET user:1 >/dev/null
redis-cli -p "$P" -n 2 SET k v >/dev/null
redis-cli -p "$P" INCR user:1 >/dev/null || true
redis-cli -p "$P" LPUSH user:1 x >/dev/null || true
redis-cli -p "$P" AUTH default not-the-password >/dev/null 2>&1 || true
redis-cli -3 -p "$P" HSET h f1 v1 f2 v2 >/dev/null
redis-cli -3 -p "$P" HGETALL h >/dev/null
$PY - "$P" <<'PY'
import sys, time, threading, redis
port = int(sys.argv[1])
r = redis.Redis(port=port)
p = r.pipeline(transaction=True)
p.set('tx:1', 'a'); p.incr('tx:n'); p.get('tx:1')
p.execute()
sub = redis.Redis(port=port).pubsub()
sub.subscribe('news')
sub.get_message(timeout=1)
redis.Redis(port=port).publish('news', 'hello')
m = None
for _ in range(20):
    m = sub.get_message(timeout=0.1)
    if m: break
sub.unsubscribe('news'); sub.get_message(timeout=1)
sub.close()
PY
$TSX "$TRAFFIC" redis-client "$P"
}
capture_start "$OUT/redis.pcap" "$P"
redis_traffic
capture_stop
if [ "$EBPF" = 1 ]; then ebpf_start "$OUT/redis.espancap" "$P"; redis_traffic; capture_stop; fi

# --- MySQL (MariaDB)
P=$(free_port)
mariadb-install-db --no-defaults --datadir="$T/db" --auth-root-authentication-method=socket --user=root >/dev/null 2>&1
mariadbd --no-defaults --datadir="$T/db" --socket="$T/my.sock" --port="$P" --bind-address=127.0.0.1 --user=root \
  --skip-log-bin --innodb-buffer-pool-size=16M --pid-file="$T/my.pid" >/dev/null 2>&1 & PIDS+=($!)
wait_port "$P"
mariadb --no-defaults -S "$T/my.sock" -u root -e "CREATE USER app@'%' IDENTIFIED BY 'apppw'; GRANT ALL ON *.* TO app@'%'; CREATE USER app@localhost IDENTIFIED BY 'apppw'; GRANT ALL ON *.* TO app@localhost;"
mysql_traffic() {
mariadb --no-defaults -h 127.0.0.1 -P "$P" -u app -papppw -e "CREATE DATABASE IF NOT EXISTS shop; USE shop; DROP TABLE IF EXISTS users; CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50), email VARCHAR(100)); INSERT INTO users VALUES (1,'alice','a@x.io'),(2,'bob','b@x.io'); SELECT id, name FROM users WHERE name = 'alice'; SELECT * FROM missing_table;" >/dev/null 2>&1 || true
$PY - "$P" <<'PY'
import sys, pymysql
c = pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user='app', password='apppw', database='shop')
cur = c.cursor()
cur.execute('SELECT name FROM users WHERE id = %s', (2,)); cur.fetchall()
cur.execute('UPDATE users SET email = %s WHERE id = %s', ('new@x.io', 2)); c.commit()
try:
    cur.execute("INSERT INTO users VALUES (1, 'dup', 'd@x.io')")
except pymysql.err.IntegrityError:
    pass
c.close()
PY
$TSX "$TRAFFIC" mysql-client "$P" app apppw
}
capture_start "$OUT/mysql.pcap" "$P"
mysql_traffic
capture_stop
if [ "$EBPF" = 1 ]; then ebpf_start "$OUT/mysql.espancap" "$P"; mysql_traffic; capture_stop; fi
ls -l "$OUT"
