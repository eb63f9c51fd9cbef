/** OTLP conversion for espan: the rest of espan imports from here. */
export { otlpProto, protoDir, TRACE_EXPORT_PATH, METRICS_EXPORT_PATH, TRACE_SERVICE, METRICS_SERVICE } from './proto';
export { encodeTraceRequest, encodeMetricsRequest, flattenTraces } from './encode';
export { toOtlpJson, metricsToOtlpJson, stringifyOtlp } from './json';
export { decodeTraceRequest, fromOtlpJson, decodeExportResponse, OtlpDecodeError, type PartialSuccess } from './decode';
export { groupByResource, withSdkIdentity, ESPAN_SDK } from './group';
