// An event-loop service for the span tests: Node's own http server; each
// GET /work?id=N sends GET req:N then SET req:N over one shared Redis
// connection (pipelined, answers in order), so requests overlap on one thread.
// Usage: REDIS_PASSWORD=… node loop.js PORT REDIS_PORT
'use strict';
const http = require('node:http');
const path = require('node:path');
const { respClient } = require(path.join(__dirname, '../../helpers/resp-client.js'));

const [port, redisPort] = process.argv.slice(2).map(Number);
const command = respClient(redisPort);

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
