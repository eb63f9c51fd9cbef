/**
 * Goroutine correlation over real Go services: test/go/service built with
 * Debian's Go toolchain (and once more stripped, -ldflags='-s -w'), a front
 * whose handlers call a Go backend over HTTP and redis-server over raw RESP,
 * one of them fanning out with `go func()`, under 8 concurrent clients,
 * captured with the ebpf receiver and run through parse → thread_correlation.
 * Every call carries the id of the request that caused it: the ground truth.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { L7Message, NetworkRecord } from '../../core/signals';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import { parseFactory } from '../../processors/parse/factory';
import { threadCorrelationFactory } from '../../processors/thread_correlation/factory';
import { ebpfUnavailable, startCapture } from '../ebpf/harness';
import { missingPrograms, startRedis, type RunningServer } from '../helpers/servers';
import { buildService, goUnavailable } from './build';
import { processor, requestId, runStages, startService, type Service } from '../spans/harness';

const CLIENTS = 8;
/** requests per path and front */
const PER_PATH = 100;

/** GETs `paths` with CLIENTS requests in flight, a connection each; resolves with the failures. */
async function load(port: number, paths: string[]): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const agent = new http.Agent({ keepAlive: false });
  async function client(): Promise<void> {
    while (next < paths.length) {
      const p = paths[next++];
      await new Promise<void>((resolve) => {
        http
          .get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode !== 200) failures.push(`${p}: ${res.statusCode}`);
              resolve();
            });
          })
          .on('error', (e) => {
            failures.push(`${p}: ${e.message}`);
            resolve();
          });
      });
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return failures;
}

function pathsFor(base: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < PER_PATH; i++) for (const [k, p] of ['/work', '/fan', '/pooled'].entries()) out.push(`${p}?id=${base + k * 10_000 + i}`);
  return out;
}

/** The route a message (or its request's id) belongs to. */
function route(id: number): string {
  return ['/work', '/fan', '/pooled'][Math.floor((id % 100_000) / 10_000)];
}

interface Verdict {
  servers: L7Message[];
  calls: L7Message[];
  linked: number;
  unlinked: number;
  wrong: number;
}

/** Checks a front's calls against the request whose id they carry. */
function verdict(messages: L7Message[], pid: number, onlyRoutes: string[]): Verdict {
  const mine = messages.filter((m) => m.pid === pid);
  const servers = mine.filter((m) => m.role === 'server' && m.protocol === 'http');
  const calls = mine.filter((m) => m.role === 'client' && requestId(m) !== undefined && onlyRoutes.includes(route(requestId(m)!)));
  const byThreadTrace = new Map(servers.map((s) => [s.threadTraceId!, s]));
  let linked = 0;
  let wrong = 0;
  for (const c of calls) {
    const parent = c.threadTraceId ? byThreadTrace.get(c.threadTraceId) : undefined;
    if (!parent) continue;
    linked++;
    if (requestId(parent) !== requestId(c)) wrong++;
  }
  return { servers, calls, linked, unlinked: calls.length - linked, wrong };
}

describe('goroutine correlation over real Go services (eBPF)', function () {
  this.timeout(300_000);
  const stops: Array<() => Promise<void>> = [];
  let dir: string;
  let records: NetworkRecord[] = [];
  let front: Service;
  let stripped: Service;
  let backend: Service;
  let redis: RunningServer;
  let failures: string[] = [];
  let captureMetrics: ServiceMetrics;

  before(async function () {
    const why = goUnavailable() ?? (missingPrograms('redis-server').length ? 'no redis-server (scripts/setup.sh installs it)' : undefined) ?? ebpfUnavailable();
    if (why) {
      console.log(`      skipping the Go goroutine tests: ${why}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-go-'));
    stops.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const plain = buildService(dir, 'service');
    const strippedExe = buildService(dir, 'service-stripped', ['-ldflags=-s -w']);
    redis = await startRedis();
    stops.push(redis.stop);
    backend = await startService([plain, 'backend', '$PORT'], {}, 'Go backend');
    stops.push(backend.stop);
    front = await startService([plain, 'front', '$PORT', String(backend.port), String(redis.port)], {}, 'Go front');
    stops.push(front.stop);
    stripped = await startService([strippedExe, 'front', '$PORT', String(backend.port), String(redis.port)], {}, 'stripped Go front');
    stops.push(stripped.stop);
    const capture = await startCapture({ include_pids: [front.pid, stripped.pid, backend.pid], poll_interval: '5ms' });
    captureMetrics = capture.metrics;
    try {
      const results = await Promise.all([load(front.port, pathsFor(100_000)), load(stripped.port, pathsFor(200_000))]);
      failures = results.flat();
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      records = await capture.stop();
    }
    console.log(`      captured ${records.length} records; ${failures.length} failed requests`);
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  async function correlated(): Promise<{ messages: L7Message[]; metrics: ServiceMetrics }> {
    const metrics = new ServiceMetrics();
    const messages = await runStages<L7Message>(records, [processor(parseFactory, { redis: { keep_args: true } }), processor(threadCorrelationFactory, {}, metrics)]);
    return { messages, metrics };
  }

  it('follows the Go processes it was given, stripped or not', async () => {
    expect(failures, 'failed requests').to.deep.equal([]);
    expect(await captureMetrics.total('espan_ebpf_go_processes_total', { result: 'traced' })).to.equal(3);
    expect(await captureMetrics.total('espan_ebpf_go_processes_total', { result: 'unsupported' })).to.equal(0);
    const goRecords = records.filter((r) => r.pid === front.pid && r.utid !== 0).length;
    expect(goRecords, 'records of the front carrying a goroutine').to.be.greaterThan(PER_PATH * 3 * 4);
  });

  for (const which of ['front', 'stripped front'] as const) {
    it(`links every call of the ${which}'s handlers and fan-outs to the request that caused it, and none elsewhere`, async () => {
      const { messages } = await correlated();
      const pid = which === 'front' ? front.pid : stripped.pid;
      const v = verdict(messages, pid, ['/work', '/fan']);
      const seen = new Set(v.servers.map(requestId));
      const base = which === 'front' ? 100_000 : 200_000;
      const missing = pathsFor(base).map((p) => Number(/id=(\d+)/.exec(p)![1])).filter((id) => !seen.has(id));
      expect(missing, 'requests the pipeline did not see').to.deep.equal([]);
      expect(v.wrong, 'calls under the wrong request').to.equal(0);
      expect(v.unlinked, 'calls left unlinked').to.equal(0);
      for (const s of v.servers) {
        const id = requestId(s)!;
        const children = v.calls.filter((c) => c.threadTraceId === s.threadTraceId).map((c) => `${c.protocol} ${requestId(c)}`);
        if (route(id) === '/work') expect(children.sort(), `children of ${id}`).to.deep.equal([`http ${id}`, `redis ${id}`]);
        if (route(id) === '/fan') expect(children.sort(), `children of ${id}`).to.deep.equal([`http ${id}`, `redis ${id}`, `redis ${id}`, `redis ${id}`]);
      }
      console.log(`      ${which}: ${v.servers.length} requests, ${v.calls.length} calls (handlers and go func()s), all linked, 0 wrong`);
    });
  }

  it('gives calls over pooled keep-alive connections zero wrong parents (unlinked allowed and counted)', async () => {
    const { messages, metrics } = await correlated();
    const v = verdict(messages, front.pid, ['/pooled']);
    expect(v.calls.length).to.be.at.least(PER_PATH * 0.9);
    expect(v.wrong, 'calls under the wrong request').to.equal(0);
    const unlinkedCounted = (await metrics.total('espan_thread_correlation_calls_total', { result: 'no_scope' })) + (await metrics.total('espan_thread_correlation_calls_total', { result: 'ambiguous' }));
    expect(unlinkedCounted).to.be.at.least(v.unlinked);
    console.log(`      pooled: ${v.calls.length} calls, ${v.linked} linked, ${v.unlinked} unlinked, 0 wrong`);
  });

  it('links the Go backend\'s requests by goroutine too (each its own scope)', async () => {
    const { messages } = await correlated();
    const servers = messages.filter((m) => m.pid === backend.pid && m.role === 'server');
    expect(servers.length).to.be.at.least(PER_PATH * 3 * 2 * 0.9);
    expect(servers.every((m) => (m.utid ?? 0) > 0 && m.threadTraceId)).to.equal(true);
  });
});
