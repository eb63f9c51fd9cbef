/**
 * Span stages on synthetic messages (one core, short): thread_correlation,
 * propagation, span_builder and the spanmetrics connector, each alone and chained.
 * Figures are per CPU second (the machine is shared). Workload: 64 thread-per-request threads; each request one HTTP server
 * message (with a traceparent) and three client calls (2 Redis, 1 MySQL).
 *
 *   node --import tsx bench/spans.ts [requests]
 */
import { from, lastValueFrom, toArray, type OperatorFunction } from 'rxjs';
import { SpanMetricsConnector } from '../connectors/spanmetrics/connector';
import type { HostInfo, L7Message, Span } from '../core/signals';
import { messagesToSpans } from '../processors/span_builder/spans';
import { ResourceCache } from '../processors/span_builder/resource';
import { DEFAULT_SENSITIVE_QUERY_PARAMETERS } from '../core/redaction';
import { extractPropagation } from '../processors/propagation/processor';
import { correlateThreads } from '../processors/thread_correlation/correlate';

const REQUESTS = Number(process.argv[2] ?? 50_000);
const BATCH = 512;
const host: HostInfo = { hostId: 'bench-host', hostName: 'bench', bootTimeUnixNano: 1_700_000_000_000_000_000n };

function workload(): L7Message[] {
  const out: L7Message[] = [];
  const base = {
    pid: 1000, comm: 'python3', netns: 1, connMeta: 0, host, outcome: 'ok' as const, saddr: '10.0.0.1', daddr: '10.0.0.2',
    respTid: undefined, utid: 0, respUtid: 0, reqTick: 0, respTick: 0,
    http: undefined, redis: undefined, mysql: undefined, grpc: undefined, postgresql: undefined, threadTraceId: undefined, propagation: undefined,
  };
  for (let r = 0; r < REQUESTS; r++) {
    const tid = 2000 + (r % 64);
    const t0 = Math.floor(r / 64) * 10_000_000 + (r % 64) * 1000;
    const calls: L7Message[] = [0, 1, 2].map((i) => ({
      ...base, protocol: i < 2 ? 'redis' : 'mysql', role: 'client', tid, connId: `c${r}-${i}`, sport: 40000 + i, dport: i < 2 ? 6379 : 3306,
      reqStart: t0 + 100_000 * (i + 1), reqEnd: t0 + 100_000 * (i + 1) + 1000, respStart: t0 + 100_000 * (i + 1) + 50_000, respEnd: t0 + 100_000 * (i + 1) + 51_000,
      reqSeq: r * 10 + i, respSeq: r * 10 + i + 5,
      ...(i < 2 ? { redis: { command: i === 0 ? 'GET' : 'SET', db: 0 } } : { mysql: { command: 'COM_QUERY', sql: 'SELECT name FROM users WHERE id = ?', operation: 'SELECT', summary: 'SELECT users', database: 'shop' } }),
    }) as L7Message);
    out.push(...calls);
    out.push({
      ...base, protocol: 'http', role: 'server', tid, connId: `s${r}`, sport: 8080, dport: 50000 + (r % 1000),
      reqStart: t0, reqEnd: t0 + 2000, respStart: t0 + 400_000, respEnd: t0 + 401_000, reqSeq: r * 10 + 9, respSeq: r * 10 + 8,
      http: { method: 'GET', target: `/work?id=${r}`, path: '/work', query: `id=${r}`, version: '1.1', status: 200, userAgent: 'bench', headers: { traceparent: `00-${r.toString(16).padStart(32, '0')}-00f067aa0ba902b7-01` } },
    });
  }
  return out;
}

/** CPU time, not wall time: the machine is shared, and waiting for a core is not the stage's cost. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function batches<T>(items: T[]): T[][] {
  const b: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) b.push(items.slice(i, i + BATCH));
  return b;
}

async function time<I, O>(name: string, op: OperatorFunction<I[], O[]>, input: I[][], items: number): Promise<O[]> {
  const t = process.cpuUsage();
  const out = (await lastValueFrom(from(input).pipe(op, toArray()))).flat();
  const s = cpuSeconds(t);
  console.log(`${name.padEnd(34)} ${(items / s / 1000).toFixed(0).padStart(6)}k messages/s of CPU  (${(s * 1e9 / items).toFixed(0)} ns each)`);
  return out;
}

async function main(): Promise<void> {
  const resources = () => new ResourceCache({ serviceNameEnv: ['OTEL_SERVICE_NAME'], commandLine: true, maxProcesses: 4096, refreshMs: 30_000, procRoot: '/nonexistent', localHostId: 'other' });
  const semconv = { sensitiveQueryParameters: new Set(DEFAULT_SENSITIVE_QUERY_PARAMETERS.map((s) => s.toLowerCase())) };
  const corr = () => correlateThreads({ waitMs: 2000, multiplexMemoryMs: 300_000, maxThreads: 65536, maxScopesPerThread: 1024, maxPending: 100_000 });
  const n = REQUESTS * 4;
  console.log(`${REQUESTS} requests, ${n} messages, batches of ${BATCH}`);
  await time('thread_correlation', corr(), batches(workload()), n);
  await time('propagation', extractPropagation(['tracecontext', 'datadog', 'b3']), batches(workload()), n);
  await time('span_builder', messagesToSpans(resources(), semconv), batches(workload()), n);
  const all = workload();
  const spans = await time<L7Message, Span>('chained (correlate+propagate+span_builder)', (s) => s.pipe(corr(), extractPropagation(['tracecontext']), messagesToSpans(resources(), semconv)), batches(all), n);
  const linked = all.filter((m) => m.role === 'client' && m.threadTraceId).length;
  console.log(`  linked ${linked} of ${REQUESTS * 3} calls`);
  const c = new SpanMetricsConnector({ namespace: 'traces.span.metrics', buckets: [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000], unit: 'ms', histogramDisabled: false, dimensions: [{ name: 'server.address' }, { name: 'db.system.name' }], excludeDimensions: [], flushIntervalMs: 3_600_000, temporality: 'cumulative', cardinalityLimit: 10000, expirationMs: 0 });
  const t = process.cpuUsage();
  for (const b of batches(spans)) c.consume(b, 'spans');
  const points = c.collect();
  const s = cpuSeconds(t);
  console.log(`${'spanmetrics'.padEnd(34)} ${(spans.length / s / 1000).toFixed(0).padStart(6)}k spans/s of CPU     (${points.length} points)`);
  await c.shutdown();
}

void main();
