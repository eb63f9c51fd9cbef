#!/bin/sh
# Records redis-high-port.pcap: redis-server on a high port (45679), clients
# bound to low ones (1234, 1235), so the lower port is the client's.
# Run as root (tcpdump on loopback) from this directory.
set -e
port=45679
dir=$(mktemp -d)
redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >/dev/null &
server=$!
tcpdump -i lo -s 0 -U -w redis-high-port.pcap "tcp port $port" 2>/dev/null &
capture=$!
sleep 1.5
node -e '
const net = require("net");
const cmd = (...a) => `*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join("");
async function session(localPort, cmds) {
  const s = net.connect({ host: "127.0.0.1", port: '$port', localAddress: "127.0.0.1", localPort });
  await new Promise((r) => s.once("connect", r));
  for (const c of cmds) {
    s.write(cmd(...c));
    await new Promise((r) => s.once("data", r));
  }
  s.end();
  await new Promise((r) => s.once("close", r));
}
(async () => {
  await session(1234, [["SET", "user:1", "ada"], ["GET", "user:1"], ["INCR", "visits"], ["GET", "missing"], ["HSET", "h", "f", "v"], ["HGETALL", "h"], ["DEL", "user:1"]]);
  await session(1235, [["PING"], ["LPUSH", "q", "a", "b", "c"], ["LRANGE", "q", "0", "-1"], ["EXPIRE", "q", "60"]]);
})();
'
sleep 0.5
kill $capture $server
wait
rm -rf "$dir"
