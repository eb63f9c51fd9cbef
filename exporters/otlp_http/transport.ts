/**
 * OTLP/HTTP sending with node:http(s): POST of the bytes the exporter
 * serialised (protobuf or OTLP/JSON), optionally gzipped, over keep-alive
 * connections (one socket per consumer), each signal to its own URL with its
 * own TLS, headers and compression.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { decodeExportResponse } from '../../core/otlp/decode';
import { otlpProto } from '../../core/otlp/proto';
import type { SignalSettings } from '../exporterhelper/otlp-exporter';
import { httpRetryable, parseRetryAfter } from '../exporterhelper/retryable';
import { acceptedOutcome, USER_AGENT, type OtlpSignal, type PerSignal, type SendOutcome, type Transport } from '../exporterhelper/transport';

const gzip = promisify(zlib.gzip);

/** bound on an error or response body kept in memory */
const MAX_RESPONSE = 64 * 1024;

export class HttpTransport implements Transport {
  private readonly agents = new Map<OtlpSignal, http.Agent>();

  constructor(
    private readonly signals: PerSignal<SignalSettings<URL>>,
    private readonly maxSockets: number,
  ) {}

  private agent(signal: OtlpSignal): http.Agent {
    let a = this.agents.get(signal);
    if (a) return a;
    const s = this.signals[signal];
    a =
      s.endpoint.protocol === 'https:'
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
    this.agents.set(signal, a);
    return a;
  }

  async send(signal: OtlpSignal, body: Uint8Array, timeoutMs: number): Promise<SendOutcome> {
    const s = this.signals[signal];
    const url = s.endpoint;
    // Compressed per attempt rather than cached: the queue keeps only one copy of each batch.
    const payload = s.gzip ? await gzip(body) : body;
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      ...s.headers,
      'content-type': s.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      'content-length': String(payload.byteLength),
    };
    if (s.gzip) headers['content-encoding'] = 'gzip';
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const req = lib.request(url, { method: 'POST', headers, agent: this.agent(signal), timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_RESPONSE) chunks.push(c);
        });
        res.on('error', (e) => resolve({ kind: 'retryable', message: `response: ${e.message}` }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks);
          const json = /json/i.test(String(res.headers['content-type'] ?? ''));
          if (status >= 200 && status < 300) {
            try {
              resolve(acceptedOutcome(decodeExportResponse(text, signal, json)));
            } catch {
              resolve({ kind: 'success' }); // an unreadable success response still means the data was accepted
            }
            return;
          }
          const message = `HTTP ${status}: ${errorMessage(text, json)}`;
          resolve(httpRetryable(status) ? { kind: 'retryable', message, throttleMs: parseRetryAfter(header(res.headers['retry-after'])) } : { kind: 'permanent', message });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => resolve({ kind: 'retryable', message: `${url.host}: ${e.message}` }));
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
