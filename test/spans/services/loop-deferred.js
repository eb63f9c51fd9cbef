// An event-loop service whose work outlives its requests, against which the
// event-loop tick rule's limits are measured: each GET /work?id=N sends GET
// req:N and SET req:N (as loop.js), answers, and 2 ms later sends DEL req:N
// (work after the response, from a timer); a background timer sends PING every
// 3 ms (work for no request). All over one shared Redis connection.
// Usage: REDIS_PASSWORD=… node loop-deferred.js PORT REDIS_PORT
'use strict';
const http = require('node:http');
const path = require('node:path');
const { respClient } = require(path.join(__dirname, '../../helpers/resp-client.js'));

const [port, redisPort] = process.argv.slice(2).map(Number);
const command = respClient(redisPort);

command('AUTH', process.env.REDIS_PASSWORD).then(() => {
  setInterval(() => command('PING'), 3);
  http
    .createServer(async (req, res) => {
      const id = new URL(req.url, 'http://x').searchParams.get('id') ?? '0';
      await command('GET', `req:${id}`);
      await command('SET', `req:${id}`, 'value');
      const body = JSON.stringify({ id: Number(id) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      setTimeout(() => command('DEL', `req:${id}`), 2);
    })
    .listen(port, '127.0.0.1', () => console.log('ready'));
});
