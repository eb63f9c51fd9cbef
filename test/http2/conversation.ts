/**
 * HTTP/2 bytes for tests, benchmarks and fuzzing: frames, and HPACK header
 * blocks made of indexed fields and literals (plain or Huffman-coded), so
 * conversations exercise the static table, the dynamic table and Huffman
 * decoding alike.
 */
import { PREFACE } from '../../processors/parse/http2/frames';
import { huffmanCode, STATIC_TABLE } from '../../processors/parse/http2/hpack';

export { PREFACE };

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array | number[] = []): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const out = new Uint8Array(9 + p.length);
  out[0] = (p.length >> 16) & 255;
  out[1] = (p.length >> 8) & 255;
  out[2] = p.length & 255;
  out[3] = type;
  out[4] = flags;
  out[5] = (streamId >>> 24) & 0x7f;
  out[6] = (streamId >> 16) & 255;
  out[7] = (streamId >> 8) & 255;
  out[8] = streamId & 255;
  out.set(p, 9);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** An HPACK integer with an N-bit prefix whose high bits are `flags`. */
export function integer(value: number, prefixBits: number, flags = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

export function huffmanEncode(text: string): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of Buffer.from(text, 'latin1')) {
    const [code, len] = huffmanCode(ch);
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >>> i) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 255);
  return out;
}

export function stringLiteral(text: string, huffman = false): number[] {
  const bytes = huffman ? huffmanEncode(text) : [...Buffer.from(text, 'latin1')];
  return [...integer(bytes.length, 7, huffman ? 128 : 0), ...bytes];
}

/** How a field is written. */
export type Representation = 'indexed-static' | 'incremental' | 'without' | 'never';

/** One field: indexed when the static table has the pair, else a literal (the name indexed when the static table has it). */
export function field(name: string, value: string, how: Representation = 'without', huffman = false): number[] {
  const pair = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
  if (pair >= 0 && how === 'indexed-static') return integer(pair + 1, 7, 128);
  const nameIndex = STATIC_TABLE.findIndex(([n]) => n === name) + 1;
  const [bits, flags] = how === 'incremental' ? [6, 0x40] : how === 'never' ? [4, 0x10] : [4, 0];
  const head = integer(nameIndex, bits, flags);
  return nameIndex ? [...head, ...stringLiteral(value, huffman)] : [...head, ...stringLiteral(name, huffman), ...stringLiteral(value, huffman)];
}

/** A reference to the dynamic table entry `d` places from the newest. */
export function dynamic(d: number): number[] {
  return integer(STATIC_TABLE.length + 1 + d, 7, 128);
}

export function block(...fields: number[][]): Uint8Array {
  return Uint8Array.from(fields.flat());
}

export const H = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
export const END_STREAM = 1;
export const END_HEADERS = 4;
export const PADDED = 8;
export const PRIORITY_FLAG = 0x20;

export function settings(entries: Array<[number, number]> = []): Uint8Array {
  const p: number[] = [];
  for (const [id, v] of entries) p.push(id >> 8, id & 255, (v >>> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255);
  return frame(H.SETTINGS, 0, 0, p);
}

export function u32(v: number): number[] {
  return [(v >>> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/**
 * A client and server exchanging `n` GET requests (and 200 responses with a
 * small body) over one h2c connection, as Node's and nginx's encoders write
 * them: the first request puts its fields in the dynamic table, the next ones
 * refer to them. `rounds`: the same bytes as one write of requests and one
 * of responses per `streamsAtOnce` streams (the first with the prefaces).
 */
export function sampleExchange(n: number, streamsAtOnce = 4): { requests: Uint8Array; responses: Uint8Array; rounds: Array<[Uint8Array, Uint8Array]> } {
  const req: Uint8Array[] = [PREFACE, settings([[4, 65535]])];
  const resp: Uint8Array[] = [settings([[3, 100]])];
  const rounds: Array<[Uint8Array, Uint8Array]> = [];
  const body = new Uint8Array(120);
  for (let i = 0; i < n; i += streamsAtOnce) {
    const [reqFrom, respFrom] = i === 0 ? [0, 0] : [req.length, resp.length];
    const ids: number[] = [];
    for (let k = 0; k < streamsAtOnce && i + k < n; k++) {
      const id = 2 * (i + k) + 1;
      ids.push(id);
      const first = i + k === 0;
      const hb = first
        ? block(field(':method', 'GET', 'indexed-static'), field(':scheme', 'http', 'indexed-static'), field(':path', '/api/items?id=7', 'incremental', true), field(':authority', 'svc.local:8080', 'incremental', true), field('user-agent', 'bench/1.0', 'incremental', true), field('traceparent', `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01`, 'without', true))
        : block(field(':method', 'GET', 'indexed-static'), field(':scheme', 'http', 'indexed-static'), dynamic(2), dynamic(1), dynamic(0), field('traceparent', `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01`, 'without', true));
      req.push(frame(H.HEADERS, END_STREAM | END_HEADERS, id, hb));
    }
    for (const id of ids) {
      const hb = id === 1 ? block(field(':status', '200', 'indexed-static'), field('content-type', 'application/json', 'incremental', true)) : block(field(':status', '200', 'indexed-static'), dynamic(0));
      resp.push(frame(H.HEADERS, END_HEADERS, id, hb));
    }
    for (const id of ids) resp.push(frame(H.DATA, END_STREAM, id, body));
    rounds.push([concat(...req.slice(reqFrom)), concat(...resp.slice(respFrom))]);
  }
  return { requests: concat(...req), responses: concat(...resp), rounds };
}
