// @grpc/grpc-js client of demo.Echo: on a line on stdin, calls Say twice, Count
// (3 streamed answers) and Fail, one after the other, prints what came back as JSON and exits.
// Usage: node grpc-client.js PORT [HOST=127.0.0.1]
'use strict';
const grpc = require('@grpc/grpc-js');
const { echoService } = require('./grpc-echo.js');

const [port, host = '127.0.0.1'] = process.argv.slice(2);
const Echo = grpc.makeGenericClientConstructor(echoService, 'Echo');
const client = new Echo(`${host}:${port}`, grpc.credentials.createInsecure());
const unary = (name, arg) => new Promise((resolve) => client[name](Buffer.from(arg), (err, v) => resolve(err ? { code: err.code } : v.toString())));
const stream = (arg) =>
  new Promise((resolve) => {
    const got = [];
    const call = client.Count(Buffer.from(arg));
    call.on('data', (d) => got.push(d.toString()));
    call.on('end', () => resolve(got));
    call.on('error', (err) => resolve({ code: err.code }));
  });
console.log('ready');
process.stdin.once('data', async () => {
  process.stdin.destroy();
  const out = { say: [await unary('Say', 'ada'), await unary('Say', 'bob')], count: await stream('x'), fail: await unary('Fail', 'x') };
  client.close();
  console.log(JSON.stringify(out));
});
