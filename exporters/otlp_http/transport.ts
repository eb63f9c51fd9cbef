/**
 * OTLP/HTTP sending with node:http(s): POST of protobuf or OTLP/JSON bodies,
 * optionally gzipped, over keep-alive connections (one socket per consumer).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { encodeMetricsRequest, encodeTraceRequest } from '../../core/otlp/encode';
import { decodeExportResponse, type PartialSuccess } from '../../core/otlp/decode';
import { metricsToOtlpJson, stringifyOtlp, toOtlpJson } from '../../core/otlp/json';
import { otlpProto } from '../../core/otlp/proto';
import type { MetricPoint, Span } from '../../core/signals';
import type { ResolvedClient } from '../exporterhelper/client';
import { ExportError, httpRetryable, parseRetryAfter } from '../exporterhelper/errors';
import type { OtlpSignal, Transport } from '../exporterhelper/sender';

const gzip = promisify(zlib.gzip);

export const USER_AGENT = 'espan-otlp-exporter/0.1.0';
/** bound on an error or response body kept in memory */
const MAX_RESPONSE = 64 * 1024;

export type Encoding = 'proto' | 'json';

export class HttpTransport implements Transport {
  private readonly agents = new Map<string, http.Agent>();

  constructor(
    private readonly urls: Record<OtlpSignal, URL>,
    private readonly settings: Record<OtlpSignal, ResolvedClient>,
    private readonly encoding: Encoding,
    private readonly maxSockets: number,
  ) {}

  encode(signal: OtlpSignal, items: readonly unknown[]): Uint8Array {
    if (this.encoding === 'json') {
      const doc = signal === 'traces' ? toOtlpJson(items as Span[]) : metricsToOtlpJson(items as MetricPoint[]);
      return Buffer.from(stringifyOtlp(doc), 'utf8');
    }
    return signal === 'traces' ? encodeTraceRequest(items as Span[]) : encodeMetricsRequest(items as MetricPoint[]);
  }

  private agent(signal: OtlpSignal, url: URL): http.Agent {
    const key = `${url.protocol}//${url.host}|${signal}`;
    let a = this.agents.get(key);
    if (a) return a;
    const s = this.settings[signal];
    a =
      url.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets: this.maxSockets,
            ca: s.ca,
            cert: s.cert,
            key: s.key,
            rejectUnauthorized: !s.tls.insecure_skip_verify,
            servername: s.tls.server_name_override || undefined,
          })
        : new http.Agent({ keepAlive: true, maxSockets: this.maxSockets });
    this.agents.set(key, a);
    return a;
  }

  async send(signal: OtlpSignal, body: Uint8Array, timeoutMs: number): Promise<PartialSuccess | undefined> {
    const s = this.settings[signal];
    const url = this.urls[signal];
    // Compressed per attempt rather than cached: the queue keeps only one copy of each batch.
    const payload = s.gzip ? await gzip(body) : body;
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      ...s.headers,
      'content-type': this.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      'content-length': String(payload.byteLength),
    };
    if (s.gzip) headers['content-encoding'] = 'gzip';
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method: 'POST', headers, agent: this.agent(signal, url), timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_RESPONSE) chunks.push(c);
        });
        res.on('error', (e) => reject(new ExportError(`response: ${e.message}`, true)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks);
          const json = /json/i.test(String(res.headers['content-type'] ?? ''));
          if (status >= 200 && status < 300) {
            try {
              resolve(decodeExportResponse(text, signal, json));
            } catch {
              resolve(undefined);
            }
            return;
          }
          const message = `HTTP ${status}: ${errorMessage(text, json)}`;
          const retryable = httpRetryable(status);
          reject(new ExportError(message, retryable, retryable ? parseRetryAfter(header(res.headers['retry-after'])) : undefined));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => reject(new ExportError(`${url.host}: ${e.message}`, true)));
      req.end(payload);
    });
  }

  async close(): Promise<void> {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The message of a google.rpc.Status body, else the start of the body as text. */
function errorMessage(body: Buffer, json: boolean): string {
  if (!body.length) return '(empty body)';
  try {
    if (json) return String(JSON.parse(body.toString('utf8')).message ?? body.toString('utf8').slice(0, 200));
    const st = otlpProto().Status.decode(body) as any;
    if (st.message) return st.message;
  } catch {
    // not a Status: fall through to text
  }
  return body.toString('utf8').slice(0, 200);
}
