// An event-loop service for the span tests: Node's own http server; each
// GET /work?id=N sends GET req:N then SET req:N over one shared Redis
// connection (pipelined, answers in order), so requests overlap on one thread.
// Usage: REDIS_PASSWORD=… node loop.js PORT REDIS_PORT
'use strict';
const http = require('node:http');
const net = require('node:net');

const [port, redisPort] = process.argv.slice(2).map(Number);
const redis = net.connect(redisPort, '127.0.0.1');
const waiting = [];
let pending = Buffer.alloc(0);

// Replies of the few commands used here: simple strings, errors, integers, bulk strings.
redis.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  for (;;) {
    const end = pending.indexOf('\r\n');
    if (end < 0) return;
    const line = pending.toString('latin1', 0, end);
    if (line[0] === '$' && Number(line.slice(1)) >= 0) {
      const len = Number(line.slice(1));
      if (pending.length < end + 4 + len) return;
      pending = pending.subarray(end + 4 + len);
    } else {
      pending = pending.subarray(end + 2);
    }
    waiting.shift()(line);
  }
});

function command(...args) {
  return new Promise((resolve) => {
    waiting.push(resolve);
    redis.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`);
  });
}

command('AUTH', process.env.REDIS_PASSWORD).then(() => {
  http
    .createServer(async (req, res) => {
      const id = new URL(req.url, 'http://x').searchParams.get('id') ?? '0';
      await command('GET', `req:${id}`);
      await command('SET', `req:${id}`, 'value');
      const body = JSON.stringify({ id: Number(id) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    })
    .listen(port, '127.0.0.1', () => console.log('ready'));
});
