// A minimal Redis (RESP) client for the test and demo services: one
// connection, commands answered in order. Replies: simple strings, errors and
// integers as their text after the type byte, bulk strings as their value
// (null for a nil bulk string). Enough for the few commands they use.
'use strict';
const net = require('node:net');

function respClient(port, host = '127.0.0.1') {
  const socket = net.connect(port, host);
  const waiting = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
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
        if (pending.length < end + 4 + len) return;
        const value = pending.toString('utf8', end + 2, end + 2 + len);
        pending = pending.subarray(end + 4 + len);
        waiting.shift()(value);
      } else {
        pending = pending.subarray(end + 2);
        waiting.shift()(line.slice(1));
      }
    }
  });
  return function command(...args) {
    return new Promise((resolve) => {
      waiting.push(resolve);
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`);
    });
  };
}

module.exports = { respClient };
