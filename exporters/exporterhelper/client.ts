/**
 * The client settings of one signal (`tls`, `headers`, `compression`,
 * `timeout`), filled from the standard OTEL_EXPORTER_OTLP_* environment
 * variables where the config leaves them unset: the per-signal variable
 * (OTEL_EXPORTER_OTLP_METRICS_TIMEOUT) before the generic one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClientTlsSettings, OtlpClientConfig } from './config';
import type { OtlpSignal } from './transport';

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

export function resolveClient(c: OtlpClientConfig, signal: OtlpSignal, env: Env, configDir: string): ResolvedClient {
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
