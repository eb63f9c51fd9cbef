/** Header names (lower case: HTTP field names are case-insensitive and the parser lower-cases them). */

// W3C Trace Context, https://www.w3.org/TR/trace-context/
export const TRACE_PARENT_HEADER = 'traceparent';
export const TRACE_STATE_HEADER = 'tracestate';

// Datadog
export const DATADOG_TRACE_ID_HEADER = 'x-datadog-trace-id';
export const DATADOG_PARENT_ID_HEADER = 'x-datadog-parent-id';
export const DATADOG_SAMPLING_PRIORITY_HEADER = 'x-datadog-sampling-priority';
export const DATADOG_ORIGIN_HEADER = 'x-datadog-origin';
export const DATADOG_TAGS_HEADER = 'x-datadog-tags';
/** the `x-datadog-tags` member carrying the upper 64 bits of a 128-bit trace id */
export const DATADOG_TID_TAG = '_dd.p.tid';

// B3, https://github.com/openzipkin/b3-propagation
export const B3_CONTEXT_HEADER = 'b3';
export const X_B3_TRACE_ID = 'x-b3-traceid';
export const X_B3_SPAN_ID = 'x-b3-spanid';
export const X_B3_SAMPLED = 'x-b3-sampled';
export const X_B3_PARENT_SPAN_ID = 'x-b3-parentspanid';
export const X_B3_FLAGS = 'x-b3-flags';

/** Every header a propagator reads: the HTTP parser keeps these and drops the rest. */
export const PROPAGATION_HEADERS: readonly string[] = [
  TRACE_PARENT_HEADER,
  TRACE_STATE_HEADER,
  DATADOG_TRACE_ID_HEADER,
  DATADOG_PARENT_ID_HEADER,
  DATADOG_SAMPLING_PRIORITY_HEADER,
  DATADOG_ORIGIN_HEADER,
  DATADOG_TAGS_HEADER,
  B3_CONTEXT_HEADER,
  X_B3_TRACE_ID,
  X_B3_SPAN_ID,
  X_B3_SAMPLED,
  X_B3_PARENT_SPAN_ID,
  X_B3_FLAGS,
];
