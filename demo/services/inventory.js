// The demo's inventory service: a Node.js event-loop HTTP server that asks
// redis-server for stock counts over one shared connection. Not instrumented.
// Usage: node inventory.js PORT REDIS_PORT
'use strict';
const http = require('node:http');
const net = require('node:net');

const [port, redisPort] = process.argv.slice(2).map(Number);

// A minimal RESP client: commands are answered in order on one connection.
const redis = net.connect(redisPort, '127.0.0.1');
const waiting = [];
let pending = Buffer.alloc(0);
redis.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  for (;;) {
    const end = pending.indexOf('\r\n');
    if (end < 0) return;
    const line = pending.toString('latin1', 0, end);
    if (line[0] === '$') {
      const len = Number(line.slice(1));
      if (len < 0) {
        pending = pending.subarray(end + 2);
        waiting.shift()(null);
        continue;
      }
      if (pending.length < end + 2 + len + 2) return;
      const value = pending.toString('utf8', end + 2, end + 2 + len);
      pending = pending.subarray(end + 4 + len);
      waiting.shift()(value);
    } else {
      pending = pending.subarray(end + 2);
      waiting.shift()(line.slice(1));
    }
  }
});
function command(...args) {
  return new Promise((resolve) => {
    waiting.push(resolve);
    redis.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`);
  });
}

http
  .createServer(async (req, res) => {
    const m = /^\/stock\/(\d+)$/.exec(req.url);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const stock = Number((await command('HGET', 'stock', m[1])) ?? 0);
    await command('HINCRBY', 'stock', m[1], 1);
    const body = JSON.stringify({ item: Number(m[1]), stock });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  })
  .listen(port, '127.0.0.1', () => console.log('ready'));
