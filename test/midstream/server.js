// An HTTP/1.1 server for the mid-stream capture test: the status and the body
// follow from the request's id (status 200 + id % 3; chunked for even ids).
'use strict';
const http = require('node:http');

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const url = new URL(req.url, 'http://server');
    const id = Number(url.searchParams.get('id'));
    const size = Number(url.searchParams.get('size'));
    const body = Buffer.alloc(size, 97 + (id % 26));
    if (id % 2) {
      res.writeHead(200 + (id % 3), { 'content-length': size });
      res.end(body);
    } else {
      res.writeHead(200 + (id % 3));
      res.write(body.subarray(0, size >> 1));
      res.end(body.subarray(size >> 1));
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
