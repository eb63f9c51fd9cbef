/**
 * The gRPC wire as espan's OTLP/gRPC exporter (exporters/otlp_grpc) and
 * receiver (receivers/otlp) speak it on node:http2, and as span_builder names
 * the statuses it reads (grpc/doc/PROTOCOL-HTTP2.md): a unary call is one
 * HTTP/2 POST whose body is one message behind a 5-byte prefix (a compressed
 * flag, the length big-endian), and whose status and percent-encoded message
 * come in the trailers, or in the headers of a trailers-only answer.
 */

/** gRPC status codes (grpc/status.proto), in order: a code's name is its index in the keys. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
const CODE_NAMES = Object.keys(GrpcCode);

/** A status code's name, or the code itself when it has none. */
export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? String(code);
}

/** Bytes in front of every message: the compressed flag and the length. */
export const MESSAGE_PREFIX_BYTES = 5;

/** The prefix of a message of `length` bytes. */
export function messagePrefix(length: number, compressed: boolean): Buffer {
  const prefix = Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/** grpc-message as sent: every byte outside printable ASCII, and "%", percent-encoded. */
export function percentEncoded(s: string): string {
  return s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c));
}

/** grpc-message as received (left as it came when it is not valid percent-encoding). */
export function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
