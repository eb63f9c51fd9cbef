// The client of the mid-stream capture test: one kept-alive HTTP connection
// and one Redis connection, both opened before the capture starts, then
// requests with large bodies one after another until a line arrives on stdin.
// Prints what it sent and got, with CLOCK_MONOTONIC times (the probe's clock),
// as one line of JSON.
'use strict';
const http = require('node:http');
const { respClient } = require('../helpers/resp-client.js');

const [port, redisPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const sent = [];
let stop = false;
process.stdin.on('data', () => (stop = true));

/** Body sizes from 1 KB to about 200 KB, spread over the ids. */
const sizeOf = (id, salt) => 1000 + ((id * 7919 + salt) % 200) * 1000;

function request(id) {
  const method = id % 2 ? 'POST' : 'GET';
  const path = `/r/${id}?id=${id}&size=${sizeOf(id, 0)}`;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        sent.push({ id, method, path: `/r/${id}`, status: res.statusCode, start: String(start), end: String(process.hrtime.bigint()) });
        resolve();
      });
    });
    req.on('error', reject);
    if (method === 'POST') req.end(Buffer.alloc(sizeOf(id, 13), 120));
    else req.end();
  });
}

(async () => {
  const redis = respClient(redisPort);
  await redis('PING');
  await request(0);
  console.log('connected');
  const keys = [];
  for (let id = 1; !stop; id++) {
    await request(id);
    if (id % 4 === 0) {
      const start = process.hrtime.bigint();
      await redis('SET', `req:${id}`, String(id));
      keys.push({ id, start: String(start), end: String(process.hrtime.bigint()) });
    }
  }
  // stays up, connections open, until killed: /proc still shows the process while its records are parsed
  console.log(JSON.stringify({ sent, keys }));
})();
