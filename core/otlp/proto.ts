/**
 * The official OTLP message types, loaded with protobufjs from the vendored
 * opentelemetry-proto files (proto/). Loaded once, on first use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

const FILES = [
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
];

export const TRACE_SERVICE = 'opentelemetry.proto.collector.trace.v1.TraceService';
export const METRICS_SERVICE = 'opentelemetry.proto.collector.metrics.v1.MetricsService';
/** gRPC method paths, as the Collector serves them */
export const TRACE_EXPORT_PATH = `/${TRACE_SERVICE}/Export`;
export const METRICS_EXPORT_PATH = `/${METRICS_SERVICE}/Export`;

export interface OtlpProto {
  root: protobuf.Root;
  TraceRequest: protobuf.Type;
  TraceResponse: protobuf.Type;
  MetricsRequest: protobuf.Type;
  MetricsResponse: protobuf.Type;
  /** google.rpc.Status, the error body of OTLP/HTTP (defined here: the vendored files do not carry it) */
  Status: protobuf.Type;
}

/** Finds proto/ whether running from sources (core/otlp) or from a build (dist/core/otlp). */
export function protoDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'proto');
    if (fs.existsSync(path.join(candidate, 'opentelemetry/proto/common/v1/common.proto'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the vendored opentelemetry-proto files (proto/) above ${__dirname}`);
}

let loaded: OtlpProto | undefined;

export function otlpProto(): OtlpProto {
  if (loaded) return loaded;
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(dir, target);
  root.loadSync(FILES, { keepCase: false });
  const status = new protobuf.Type('Status')
    .add(new protobuf.Field('code', 1, 'int32'))
    .add(new protobuf.Field('message', 2, 'string'));
  root.define('google.rpc').add(status);
  root.resolveAll();
  loaded = {
    root,
    TraceRequest: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    TraceResponse: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    MetricsRequest: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
    MetricsResponse: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
    Status: root.lookupType('google.rpc.Status'),
  };
  return loaded;
}
