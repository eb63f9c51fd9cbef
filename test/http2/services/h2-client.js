// Node's HTTP/2 client: on a line on stdin, sends its requests at once on one
// connection (their streams interleave), h2c or, with `tls`, h2 over TLS
// (the test's self-signed certificate accepted), prints their statuses as JSON and exits.
// Usage: node h2-client.js PORT TRACEPARENT SECRET [tls]
'use strict';
const http2 = require('node:http2');

const [port, traceparent, secret, tls] = process.argv.slice(2);
console.log('ready');
process.stdin.once('data', async () => {
  process.stdin.destroy();
  const session = http2.connect(`${tls ? 'https' : 'http'}://127.0.0.1:${port}`, { rejectUnauthorized: false });
  const request = (method, path, headers, body) =>
    new Promise((resolve, reject) => {
      const req = session.request({ ':method': method, ':path': path, authorization: `Bearer ${secret}`, ...headers });
      let status;
      req.on('response', (h) => (status = h[':status']));
      req.on('data', () => {});
      req.on('end', () => resolve(status));
      req.on('error', reject);
      req.end(body);
    });
  const statuses = await Promise.all([
    request('GET', '/hello?n=1', { traceparent }),
    request('GET', '/hello?n=2', {}),
    request('POST', '/echo', { 'content-type': 'application/octet-stream' }, Buffer.alloc(3000, 7)),
    request('GET', '/missing', {}),
  ]);
  session.close();
  console.log(JSON.stringify(statuses));
});
