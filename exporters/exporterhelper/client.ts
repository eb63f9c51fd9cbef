/**
 * Settings shared by the OTLP exporters: the Collector's client `tls`, `headers`,
 * `compression` and `timeout`, filled from the standard OTEL_EXPORTER_OTLP_*
 * environment variables where the config leaves them unset.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OtlpSignal } from './sender';

export interface ClientTlsSettings {
  insecure: boolean;
  ca_file: string;
  cert_file: string;
  key_file: string;
  insecure_skip_verify: boolean;
  server_name_override: string;
}

export const clientTlsSchema = {
  insecure: { doc: 'gRPC: plaintext instead of TLS (an http:// endpoint also means plaintext); OTEL_EXPORTER_OTLP_INSECURE when unset', format: Boolean, default: false },
  ca_file: { doc: 'PEM CA bundle that signs the server certificate (default: system roots); OTEL_EXPORTER_OTLP_CERTIFICATE when unset', format: String, default: '' },
  cert_file: { doc: 'PEM client certificate for mutual TLS; OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE when unset', format: String, default: '' },
  key_file: { doc: 'PEM key of cert_file; OTEL_EXPORTER_OTLP_CLIENT_KEY when unset', format: String, default: '' },
  insecure_skip_verify: { doc: 'TLS without verifying the server certificate (testing only)', format: Boolean, default: false },
  server_name_override: { doc: 'name expected in the server certificate instead of the endpoint host', format: String, default: '' },
};

export const headersSchema = { doc: 'headers (gRPC metadata) sent with every request; OTEL_EXPORTER_OTLP_HEADERS adds to them', format: 'string-map', default: {} };
export const compressionSchema = {
  doc: 'gzip or none; unset: OTEL_EXPORTER_OTLP_COMPRESSION, else gzip (the Collector default)',
  format: ['gzip', 'none', ''],
  default: '',
};
export const timeoutSchema = { doc: 'time allowed for one send attempt; unset: OTEL_EXPORTER_OTLP_TIMEOUT (ms), else 5s', format: 'duration', default: null, nullable: true };

export type Env = Record<string, string | undefined>;

/** The per-signal variable (OTEL_EXPORTER_OTLP_TRACES_X) before the generic one (OTEL_EXPORTER_OTLP_X). */
export function otlpEnv(env: Env, signal: OtlpSignal, name: string): string | undefined {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_${name}`];
  if (specific !== undefined && specific !== '') return specific;
  const generic = env[`OTEL_EXPORTER_OTLP_${name}`];
  return generic === '' ? undefined : generic;
}

/** OTEL_EXPORTER_OTLP_HEADERS: comma-separated key=value pairs, values URL-encoded. */
export function parseEnvHeaders(v: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!v) return out;
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    try {
      out[key] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      out[key] = part.slice(eq + 1).trim();
    }
  }
  return out;
}

export interface ResolvedClient {
  headers: Record<string, string>;
  gzip: boolean;
  timeoutMs: number;
  tls: ClientTlsSettings;
  /** PEM contents, read once at start */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

interface ClientConfig {
  headers: Record<string, string>;
  compression: string;
  timeout: number | null;
  tls: ClientTlsSettings;
}

const isTrue = (v: string | undefined) => v !== undefined && /^(true|1)$/i.test(v.trim());

function readPem(file: string, dir: string, what: string): Buffer | undefined {
  if (!file) return undefined;
  const p = path.resolve(dir, file);
  try {
    return fs.readFileSync(p);
  } catch (e) {
    throw new Error(`cannot read tls.${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function resolveClient(c: ClientConfig, signal: OtlpSignal, env: Env, configDir: string): ResolvedClient {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(parseEnvHeaders(otlpEnv(env, signal, 'HEADERS')))) headers[k] = v;
  for (const [k, v] of Object.entries(c.headers)) headers[k.toLowerCase()] = v;
  const compression = c.compression || otlpEnv(env, signal, 'COMPRESSION') || 'gzip';
  const envTimeout = Number(otlpEnv(env, signal, 'TIMEOUT'));
  const timeoutMs = c.timeout ?? (Number.isFinite(envTimeout) && envTimeout > 0 ? envTimeout : 5000);
  const tls: ClientTlsSettings = {
    ...c.tls,
    insecure: c.tls.insecure || isTrue(otlpEnv(env, signal, 'INSECURE')),
    ca_file: c.tls.ca_file || otlpEnv(env, signal, 'CERTIFICATE') || '',
    cert_file: c.tls.cert_file || otlpEnv(env, signal, 'CLIENT_CERTIFICATE') || '',
    key_file: c.tls.key_file || otlpEnv(env, signal, 'CLIENT_KEY') || '',
  };
  return {
    headers,
    gzip: compression === 'gzip',
    timeoutMs,
    tls,
    ca: readPem(tls.ca_file, configDir, 'ca_file'),
    cert: readPem(tls.cert_file, configDir, 'cert_file'),
    key: readPem(tls.key_file, configDir, 'key_file'),
  };
}

export function validateClientTls(tls: ClientTlsSettings): Array<{ path: string; message: string }> {
  if (Boolean(tls.cert_file) !== Boolean(tls.key_file)) return [{ path: 'tls', message: 'cert_file and key_file go together (mutual TLS needs both)' }];
  return [];
}
