// The demo's inventory service: a Node.js event-loop HTTP server that asks
// redis-server for stock counts over one shared connection. Not instrumented.
// Usage: node inventory.js PORT REDIS_PORT
'use strict';
const http = require('node:http');
const path = require('node:path');
const { respClient } = require(path.join(__dirname, '../../test/helpers/resp-client.js'));

const [port, redisPort] = process.argv.slice(2).map(Number);
const command = respClient(redisPort);

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
