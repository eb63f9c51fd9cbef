// An event-loop service that forwards the trace context it receives, as
// services in a mesh are asked to: each GET /work?id=N calls GET /work?id=N on
// a backend twice, one after the other, with the request's traceparent copied
// onto both calls (Node's pooled keep-alive connections).
// Usage: node loop-forward.js PORT BACKEND_PORT
'use strict';
const http = require('node:http');

const [port, backendPort] = process.argv.slice(2).map(Number);

function call(path, traceparent) {
  return new Promise((resolve, reject) => {
    const headers = traceparent ? { traceparent } : {};
    http
      .get({ host: '127.0.0.1', port: backendPort, path, headers }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
}

http
  .createServer(async (req, res) => {
    const id = new URL(req.url, 'http://x').searchParams.get('id') ?? '0';
    await call(`/work?id=${id}`, req.headers.traceparent);
    await call(`/work?id=${id}`, req.headers.traceparent);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('ok');
  })
  .listen(port, '127.0.0.1', () => console.log('ready'));
