// Node's own HTTP/2 server, for the HTTP/2 capture tests: h2c (prior knowledge),
// or h2 over TLS (ALPN) when given a certificate and key.
// GET /hello… → 200 text, POST /echo → 200 with the request body's size, anything else → 404.
// Usage: node h2-server.js PORT [CERT KEY]
'use strict';
const fs = require('node:fs');
const http2 = require('node:http2');

const [port, cert, key] = process.argv.slice(2);
const server = cert ? http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }) : http2.createServer();
server.on('stream', (stream, headers) => {
  const path = headers[':path'];
  let size = 0;
  stream.on('data', (d) => (size += d.length));
  stream.on('end', () => {
    if (path.startsWith('/hello')) {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end('hello over h2\n');
    } else if (path === '/echo') {
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ size }));
    } else {
      stream.respond({ ':status': 404 });
      stream.end();
    }
  });
});
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
