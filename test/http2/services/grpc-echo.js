// The gRPC service of the capture tests, without .proto files: messages are raw bytes.
// demo.Echo/Say (unary), demo.Echo/Count (server streaming), demo.Echo/Fail (always UNAVAILABLE).
'use strict';
const raw = { serialize: (b) => b, deserialize: (b) => b };
const method = (name, responseStream) => ({
  path: `/demo.Echo/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: raw.serialize,
  requestDeserialize: raw.deserialize,
  responseSerialize: raw.serialize,
  responseDeserialize: raw.deserialize,
});
module.exports.echoService = { Say: method('Say', false), Count: method('Count', true), Fail: method('Fail', false) };
