// @grpc/grpc-js server of demo.Echo; Say reads a greeting from Redis first (a downstream call)
// unless REDIS_PORT is 0.
// Usage: node grpc-server.js PORT REDIS_PORT [HOST=127.0.0.1]
'use strict';
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const { respClient } = require(path.join(__dirname, '../../helpers/resp-client.js'));
const { echoService } = require('./grpc-echo.js');

const [port, redisPort, host = '127.0.0.1'] = process.argv.slice(2);
const redis = Number(redisPort) ? respClient(Number(redisPort)) : undefined;
const server = new grpc.Server();
server.addService(echoService, {
  Say: async (call, done) => {
    const greeting = (redis && (await redis('GET', `greeting:${call.request.toString()}`))) || 'hello';
    done(null, Buffer.from(`${greeting} ${call.request}`));
  },
  Count: (call) => {
    for (let i = 0; i < 3; i++) call.write(Buffer.from(String(i)));
    call.end();
  },
  Fail: (_call, done) => done({ code: grpc.status.UNAVAILABLE, details: 'backend down' }),
});
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  console.log('ready');
});
