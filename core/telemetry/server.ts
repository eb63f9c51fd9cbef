/** The Prometheus scrape endpoint for self-metrics. */
import * as http from 'node:http';
import type { ServiceMetrics } from './metrics';

export interface MetricsServer {
  /** host:port actually bound (port 0 picks one) */
  address: string;
  close(): Promise<void>;
}

/** Splits "host:port" (IPv6 as "[::1]:8888"). */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`"${address}" is not host:port`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

export function listen(server: http.Server, address: string): Promise<string> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? `${host}:${a.port}` : address);
    });
  });
}

export async function startMetricsServer(address: string, metrics: ServiceMetrics): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('espan self-metrics are at /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  const bound = await listen(server, address);
  server.unref();
  return { address: bound, close: () => new Promise((r) => server.close(() => r())) };
}
