// @grpc/grpc-js server of demo.Echo; Say reads a greeting from Redis first (a downstream call).
// Usage: node grpc-server.js PORT REDIS_PORT
'use strict';
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const { respClient } = require(path.join(__dirname, '../../helpers/resp-client.js'));
const { echoService } = require('./grpc-echo.js');

const [port, redisPort] = process.argv.slice(2).map(Number);
const redis = respClient(redisPort);
const server = new grpc.Server();
server.addService(echoService, {
  Say: async (call, done) => {
    const greeting = (await redis('GET', `greeting:${call.request.toString()}`)) ?? 'hello';
    done(null, Buffer.from(`${greeting} ${call.request}`));
  },
  Count: (call) => {
    for (let i = 0; i < 3; i++) call.write(Buffer.from(String(i)));
    call.end();
  },
  Fail: (_call, done) => done({ code: grpc.status.UNAVAILABLE, details: 'backend down' }),
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  console.log('ready');
});
