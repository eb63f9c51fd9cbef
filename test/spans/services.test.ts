/**
 * Acceptance over real services: a thread-per-request Python service (Debian's
 * python3 with python3-redis and python3-pymysql) calling redis-server and
 * mariadb, and a Node.js event-loop service calling redis-server, each under
 * 16 concurrent clients, captured with the ebpf receiver and run through
 * parse → thread_correlation → propagation → espan → spanmetrics.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ESPAN } from '../../core/semconv';
import { SpanKind, StatusCode, type L7Message, type NetworkRecord, type Span } from '../../core/signals';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import { SpanMetricsConnector } from '../../connectors/spanmetrics/connector';
import { spanBuilderFactory } from '../../processors/span_builder/factory';
import { parseFactory } from '../../processors/parse/factory';
import { propagationFactory } from '../../processors/propagation/factory';
import { threadCorrelationFactory } from '../../processors/thread_correlation/factory';
import { ebpfUnavailable, startCapture } from '../ebpf/harness';
import { startMariadb, type MariadbServer } from '../helpers/servers';
import { jsonOf, processor, requestId, runLoad, runStages, SERVICES, servicesUnavailable, startRedisWithPassword, startService, SYSTEM_PYTHON, type LoadResult, type Service } from './harness';

const CLIENTS = 16;
const REQUESTS = 12;
const REDIS_PASSWORD = 'redis-SECRET-pw';
const SECRETS = [REDIS_PASSWORD, 'app-secret', 'SECRET-BEARER-TOKEN', 'SECRET-COOKIE-VALUE', 'ada@example.com'];

interface Run {
  records: NetworkRecord[];
  front: Service;
  loop: Service;
  redis: Service;
  mysql: MariadbServer;
  frontLoad: LoadResult;
  loopLoad: LoadResult;
}

describe('spans over real services (eBPF)', function () {
  this.timeout(240_000);
  let run: Run | undefined;
  const stops: Array<() => Promise<void>> = [];

  before(async function () {
    const why = servicesUnavailable() ?? ebpfUnavailable();
    if (why) {
      console.log(`      skipping the real-service span tests: ${why}`);
      this.skip();
    }
    const redis = await startRedisWithPassword(REDIS_PASSWORD);
    stops.push(redis.stop);
    const mysql = await startMariadb();
    stops.push(mysql.stop);
    const front = await startService(
      [SYSTEM_PYTHON, path.join(SERVICES, 'front.py'), '$PORT', String(redis.port), String(mysql.port)],
      { OTEL_SERVICE_NAME: 'front-py', REDIS_PASSWORD, MYSQL_PASSWORD: mysql.password },
      'front.py',
    );
    stops.push(front.stop);
    const loop = await startService([process.execPath, path.join(SERVICES, 'loop.js'), '$PORT', String(redis.port)], { DD_SERVICE: 'loop-node', DD_ENV: 'test', REDIS_PASSWORD }, 'loop.js');
    stops.push(loop.stop);
    const capture = await startCapture({ include_pids: [front.pid, loop.pid], poll_interval: '5ms' });
    let frontLoad: LoadResult;
    let loopLoad: LoadResult;
    let records: NetworkRecord[] = [];
    try {
      [frontLoad, loopLoad] = await Promise.all([runLoad(front.port, CLIENTS, REQUESTS, 100_000), runLoad(loop.port, CLIENTS, REQUESTS, 500_000)]);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      records = await capture.stop();
    }
    const dropped = await capture.metrics.total('espan_receiver_refused_items_total');
    const kernelDropped = await capture.metrics.total('espan_ebpf_kernel_dropped_records_total');
    console.log(`      captured ${records.length} records (${dropped} refused, ${kernelDropped} dropped in the kernel); load errors: front ${frontLoad.errors}, loop ${loopLoad.errors}`);
    run = { records, front, loop, redis, mysql, frontLoad, loopLoad };
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  /** Messages with arguments and raw SQL kept: they carry the request ids that are the ground truth. */
  async function groundTruthMessages(): Promise<{ messages: L7Message[]; metrics: ServiceMetrics }> {
    const metrics = new ServiceMetrics();
    const messages = await runStages<L7Message>(run!.records, [
      processor(parseFactory, { redis: { keep_args: true }, mysql: { keep_raw_sql: true } }),
      processor(threadCorrelationFactory, {}, metrics),
      processor(propagationFactory, {}),
    ]);
    return { messages, metrics };
  }

  /** What the probe captured of the server connection whose bytes carry `text`: calls, lengths, indexes, side, first bytes. */
  function recordsCarrying(text: string): string {
    const front = run!.records.filter((r) => r.pid === run!.front.pid && r.sport === run!.front.port);
    const conn = front.find((r) => Buffer.from(r.payload).includes(text))?.connId;
    if (!conn) return 'none carry it';
    return front
      .filter((r) => r.connId === conn)
      .map((r) => `#${r.index} func ${r.funcId} tid ${r.tid} ${r.bufLen} B meta ${r.connMeta} ${JSON.stringify(Buffer.from(r.payload.subarray(0, 24)).toString('latin1'))}`)
      .join('; ');
  }

  it('links every Redis and MySQL call of the thread-per-request service to its own request, and none elsewhere', async () => {
    const { messages } = await groundTruthMessages();
    const front = messages.filter((m) => m.pid === run!.front.pid);
    const servers = front.filter((m) => m.role === 'server' && m.protocol === 'http');
    const calls = front.filter((m) => m.role === 'client');
    expect(run!.frontLoad.errors, String(run!.frontLoad.first_error)).to.equal(0);
    const sent = new Set(run!.frontLoad.ids);
    const seen = new Set(servers.map(requestId));
    const missing = [...sent].filter((id) => !seen.has(id));
    for (const id of missing) console.log(`      request ${id} not seen; its connection's records: ${recordsCarrying(`id=${id} `)}`);
    expect(missing, 'requests the pipeline did not see').to.deep.equal([]);
    const byThreadTrace = new Map(servers.map((s) => [s.threadTraceId!, s]));
    let wrong = 0;
    let unlinked = 0;
    for (const c of calls) {
      const parent = c.threadTraceId ? byThreadTrace.get(c.threadTraceId) : undefined;
      if (!parent) {
        unlinked++;
        continue;
      }
      const id = requestId(c);
      // setup calls (AUTH, the MySQL login) carry no id: they must still be under a request of their thread
      if ((id !== undefined && id !== requestId(parent)) || parent.tid !== c.tid) wrong++;
    }
    expect(wrong, 'calls under the wrong request').to.equal(0);
    expect(unlinked, 'calls left unlinked').to.equal(0);
    for (const s of servers) {
      const id = requestId(s)!;
      const children = calls.filter((c) => c.threadTraceId === s.threadTraceId);
      const redisIds = children.filter((c) => c.protocol === 'redis' && requestId(c) !== undefined);
      const sqlIds = children.filter((c) => c.protocol === 'mysql' && requestId(c) !== undefined);
      expect(redisIds.map((c) => `${c.redis!.command} ${requestId(c)}`).sort(), `children of request ${id}`).to.deep.equal([`GET ${id}`, `SET ${id}`]);
      expect(sqlIds.map(requestId), `SQL children of request ${id}`).to.deep.equal([id]);
    }
    console.log(`      thread-per-request: ${servers.length} requests, ${calls.length} calls, all linked, 0 wrong`);
  });

  it('gives the event-loop service zero wrong parents (unlinked allowed and counted)', async () => {
    const { messages, metrics } = await groundTruthMessages();
    const loop = messages.filter((m) => m.pid === run!.loop.pid);
    const servers = loop.filter((m) => m.role === 'server' && m.protocol === 'http');
    const calls = loop.filter((m) => m.role === 'client' && requestId(m) !== undefined);
    expect(servers.length).to.be.greaterThan(CLIENTS * REQUESTS * 0.9);
    expect(calls.length).to.be.greaterThan(CLIENTS * REQUESTS * 2 * 0.9);
    const byThreadTrace = new Map(servers.map((s) => [s.threadTraceId!, s]));
    let wrong = 0;
    let linked = 0;
    for (const c of calls) {
      const parent = c.threadTraceId ? byThreadTrace.get(c.threadTraceId) : undefined;
      if (!parent) continue;
      linked++;
      if (requestId(parent) !== requestId(c)) wrong++;
    }
    expect(wrong, 'calls under the wrong request').to.equal(0);
    const ambiguous = await metrics.total('espan_thread_correlation_calls_total', { result: 'ambiguous' });
    console.log(`      event loop: ${servers.length} requests, ${calls.length} calls, ${linked} linked, ${calls.length - linked} unlinked (${ambiguous} counted ambiguous over both services), 0 wrong`);
    expect(ambiguous).to.be.at.least(calls.length - linked);
  });

  describe('eSpans with the default (secret-free) settings', () => {
    let spans: Span[];
    before(async () => {
      spans = await runStages<Span>(run!.records, [processor(parseFactory, {}), processor(threadCorrelationFactory, {}), processor(propagationFactory, {}), processor(spanBuilderFactory, {})]);
    });

    it('keeps every secret out of the output', () => {
      const text = jsonOf(spans);
      for (const s of SECRETS) expect(text, s).to.not.include(s);
      expect(text).to.not.match(/req-\d+/); // SQL literals
      expect(text).to.not.match(/req:\d+/); // Redis arguments
    });

    it('makes HTTP server spans per the conventions, with the propagated context', () => {
      const servers = spans.filter((s) => s.resource.attributes['process.pid'] === run!.front.pid && s.kind === SpanKind.SERVER);
      expect(servers.length).to.equal(CLIENTS * REQUESTS);
      for (const s of servers) {
        const a = s.attributes;
        expect(s.name).to.equal('GET');
        expect(a).to.include({ 'http.request.method': 'GET', 'url.path': '/work', 'url.scheme': 'http', 'server.port': run!.front.port, 'client.address': '127.0.0.1', 'network.peer.address': '127.0.0.1', 'user_agent.original': 'espan-load/1', 'network.transport': 'tcp', 'network.type': 'ipv4' });
        expect(a['url.query']).to.match(/^id=\d+$/);
        const id = Number(/id=(\d+)/.exec(a['url.query'] as string)![1]);
        expect(s.traceId).to.equal(id.toString(16).padStart(32, '0'));
        expect(s.parentSpanId).to.equal((id + 1).toString(16).padStart(16, '0'));
        expect(a[ESPAN.PROPAGATION]).to.equal('w3c');
        expect(a[ESPAN.PROPAGATED_SAMPLED]).to.equal(true);
        expect(a[ESPAN.THREAD_TRACE_ID]).to.match(/^[0-9a-f]{32}$/);
        for (const k of [ESPAN.REQ_SEQ, ESPAN.RESP_SEQ, ESPAN.CONN_KEY, ESPAN.HOST_ID, ESPAN.TID]) expect(a, k).to.have.property(k);
        if (id % 10 === 0) {
          expect(a['http.response.status_code']).to.equal(500);
          expect(a['error.type']).to.equal('500');
          expect(s.status.code).to.equal(StatusCode.ERROR);
        } else {
          expect(a['http.response.status_code']).to.equal(200);
          expect(s.status.code).to.equal(StatusCode.UNSET);
        }
      }
    });

    it('makes Redis and MySQL client spans per the conventions, under their request', () => {
      const front = spans.filter((s) => s.resource.attributes['process.pid'] === run!.front.pid);
      const threadIds = new Set(front.filter((s) => s.kind === SpanKind.SERVER).map((s) => s.attributes[ESPAN.THREAD_TRACE_ID]));
      const redis = front.filter((s) => s.attributes['db.system.name'] === 'redis');
      const mysql = front.filter((s) => s.attributes['db.system.name'] === 'mysql');
      expect(redis.filter((s) => s.name === 'SET')).to.have.length(CLIENTS * REQUESTS);
      for (const s of redis) {
        expect(s.kind).to.equal(SpanKind.CLIENT);
        expect(s.attributes).to.include({ 'db.operation.name': s.name, 'db.namespace': '0', 'server.address': '127.0.0.1', 'server.port': run!.redis.port, 'network.peer.port': run!.redis.port });
        expect(s.attributes).to.not.have.property('db.query.text');
        expect(threadIds.has(s.attributes[ESPAN.THREAD_TRACE_ID])).to.equal(true);
      }
      const selects = mysql.filter((s) => s.attributes['db.operation.name'] === 'SELECT');
      expect(selects).to.have.length(CLIENTS * REQUESTS);
      for (const s of selects) {
        expect(s.attributes).to.include({ 'db.namespace': 'shop', 'server.port': run!.mysql.port });
        expect(s.attributes['db.query.text']).to.match(/^SELECT \?, name FROM (users|missing_table) WHERE email = \?$/);
        expect(threadIds.has(s.attributes[ESPAN.THREAD_TRACE_ID])).to.equal(true);
        if (String(s.attributes['db.query.text']).includes('missing_table')) {
          expect(s.attributes['error.type']).to.equal('1146');
          expect(s.attributes['db.response.status_code']).to.equal('1146');
          expect(s.status.code).to.equal(StatusCode.ERROR);
        }
      }
    });

    it('gives each process one resource object with its service name', () => {
      const front = spans.filter((s) => s.resource.attributes['process.pid'] === run!.front.pid);
      const loop = spans.filter((s) => s.resource.attributes['process.pid'] === run!.loop.pid);
      expect(new Set(front.map((s) => s.resource)).size).to.equal(1);
      expect(new Set(loop.map((s) => s.resource)).size).to.equal(1);
      expect(front[0].resource.attributes).to.include({ 'service.name': 'front-py', 'process.executable.name': path.basename(fs.realpathSync(SYSTEM_PYTHON)) });
      expect(front[0].resource.attributes['process.command_line']).to.include('front.py');
      expect(loop[0].resource.attributes).to.include({ 'service.name': 'loop-node', 'deployment.environment.name': 'test' });
    });

    it('feeds the RED metrics', async () => {
      const c = new SpanMetricsConnector({ namespace: 'traces.span.metrics', buckets: [1, 10, 100, 1000], unit: 'ms', histogramDisabled: false, dimensions: [{ name: 'server.address' }, { name: 'db.system.name' }], excludeDimensions: [], flushIntervalMs: 60_000, temporality: 'cumulative', cardinalityLimit: 1000, expirationMs: 0 });
      c.consume(spans, 'spans');
      const points = c.collect();
      await c.shutdown();
      const calls = (attrs: Record<string, unknown>) => points.filter((p) => p.name === 'traces.span.metrics.calls' && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + (p.value ?? 0), 0);
      expect(calls({ 'service.name': 'front-py', 'span.name': 'GET', 'span.kind': 'SPAN_KIND_SERVER' })).to.equal(CLIENTS * REQUESTS);
      expect(calls({ 'service.name': 'front-py', 'span.kind': 'SPAN_KIND_SERVER', 'status.code': 'STATUS_CODE_ERROR' })).to.equal(run!.frontLoad.ids.filter((id) => id % 10 === 0).length);
      expect(calls({ 'service.name': 'loop-node', 'span.name': 'SET', 'db.system.name': 'redis' })).to.be.greaterThan(0);
    });
  });
});

/**
 * The event-loop services captured with the raw syscall tracepoints (the only
 * ones that see the loops' waits, hence their ticks): loop.js, loop-deferred.js
 * whose work outlives its requests (a call 2 ms after each response, a
 * background call every 3 ms), loop_asyncio.py (Python's asyncio, which the
 * rule does not link), and loop-forward.js, which forwards each request's
 * traceparent on two HTTP calls to another loop.js (not traced). 16 concurrent
 * clients, then one at
 * a time on the same processes (their threads are then known to serve several
 * requests at once, so the thread rule alone links nothing).
 */
describe('event-loop ticks over real event-loop services (eBPF, syscall tracepoints)', function () {
  this.timeout(240_000);
  const stops: Array<() => Promise<void>> = [];
  let loop: Service;
  let deferred: Service;
  let asyncioLoop: Service;
  let forward: Service;
  let records: NetworkRecord[] = [];
  const loads: LoadResult[] = [];

  before(async function () {
    const why = servicesUnavailable() ?? ebpfUnavailable();
    if (why) {
      console.log(`      skipping the event-loop tick tests: ${why}`);
      this.skip();
    }
    const redis = await startRedisWithPassword(REDIS_PASSWORD);
    stops.push(redis.stop);
    loop = await startService([process.execPath, path.join(SERVICES, 'loop.js'), '$PORT', String(redis.port)], { REDIS_PASSWORD }, 'loop.js');
    stops.push(loop.stop);
    deferred = await startService([process.execPath, path.join(SERVICES, 'loop-deferred.js'), '$PORT', String(redis.port)], { REDIS_PASSWORD }, 'loop-deferred.js');
    stops.push(deferred.stop);
    asyncioLoop = await startService([SYSTEM_PYTHON, path.join(SERVICES, 'loop_asyncio.py'), '$PORT', String(redis.port)], { REDIS_PASSWORD }, 'loop_asyncio.py');
    stops.push(asyncioLoop.stop);
    const backend = await startService([process.execPath, path.join(SERVICES, 'loop.js'), '$PORT', String(redis.port)], { REDIS_PASSWORD }, 'loop.js (backend)');
    stops.push(backend.stop);
    forward = await startService([process.execPath, path.join(SERVICES, 'loop-forward.js'), '$PORT', String(backend.port)], {}, 'loop-forward.js');
    stops.push(forward.stop);
    const services = [loop, deferred, asyncioLoop];
    const capture = await startCapture({ include_pids: [...services, forward].map((s) => s.pid), poll_interval: '5ms', tracepoints: 'syscall' });
    try {
      loads.push(...(await Promise.all([...services.map((s) => runLoad(s.port, CLIENTS, REQUESTS, 600_000)), runLoad(forward.port, CLIENTS, REQUESTS, 800_000)])));
      loads.push(...(await Promise.all([...services.map((s) => runLoad(s.port, 1, CLIENTS * REQUESTS, 700_000)), runLoad(forward.port, 1, CLIENTS * REQUESTS, 900_000)])));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      records = await capture.stop();
    }
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  interface Tally {
    calls: number;
    linked: number;
    wrong: number;
  }

  /** Calls of `pid` (those carrying a request id in [from, to), or none: setup and background) and how they were linked. */
  async function tallies(pid: number, busyBase = 600_000, aloneBase = 700_000): Promise<{ busy: Tally; alone: Tally; background: Tally; byTick: number; byForwarded: number }> {
    const metrics = new ServiceMetrics();
    const messages = await runStages<L7Message>(records, [processor(parseFactory, { redis: { keep_args: true } }), processor(threadCorrelationFactory, { event_loop_ticks: true }, metrics)]);
    const mine = messages.filter((m) => m.pid === pid);
    const servers = new Map(mine.filter((m) => m.role === 'server').map((s) => [s.threadTraceId!, s]));
    const tally = (calls: L7Message[]): Tally => {
      let linked = 0;
      let wrong = 0;
      for (const c of calls) {
        const parent = c.threadTraceId ? servers.get(c.threadTraceId) : undefined;
        if (!parent) continue;
        linked++;
        if (requestId(parent) !== requestId(c)) wrong++;
      }
      return { calls: calls.length, linked, wrong };
    };
    const calls = mine.filter((m) => m.role === 'client');
    const within = (from: number, to: number) => calls.filter((m) => (requestId(m) ?? -1) >= from && requestId(m)! < to);
    return {
      busy: tally(within(busyBase, busyBase + 100_000)),
      alone: tally(within(aloneBase, aloneBase + 100_000)),
      background: tally(calls.filter((m) => requestId(m) === undefined)),
      byTick: await metrics.total('espan_thread_correlation_calls_total', { result: 'linked_tick' }),
      byForwarded: await metrics.total('espan_thread_correlation_calls_total', { result: 'linked_forwarded' }),
    };
  }

  const line = (t: Tally) => `${t.calls} calls, ${t.linked} linked, ${t.calls - t.linked} unlinked, ${t.wrong} wrong`;

  it('links calls written in the tick of their own request\'s read while it was the only one open, and none wrong', async () => {
    for (const l of loads) expect(l.errors, String(l.first_error)).to.equal(0);
    const { busy, alone, byTick } = await tallies(loop.pid);
    console.log(`      loop.js, ${CLIENTS} clients: ${line(busy)}`);
    console.log(`      loop.js, 1 client: ${line(alone)} (${byTick} linked by the tick rule in all)`);
    expect(busy.calls).to.be.greaterThan(CLIENTS * REQUESTS * 2 * 0.9);
    expect(alone.calls).to.be.greaterThan(CLIENTS * REQUESTS * 2 * 0.9);
    expect(busy.wrong + alone.wrong, 'calls under the wrong request').to.equal(0);
    expect(alone.linked, 'calls of the one-at-a-time requests linked').to.be.greaterThan(alone.calls * 0.9);
  });

  it('puts no work that outlives its request, or serves none, under a request (timers run after the poll phase)', async () => {
    const { busy, alone, background } = await tallies(deferred.pid);
    console.log(`      loop-deferred.js, ${CLIENTS} clients: ${line(busy)}`);
    console.log(`      loop-deferred.js, 1 client: ${line(alone)}`);
    console.log(`      loop-deferred.js, background: ${background.calls} calls, ${background.linked} under a request`);
    expect(alone.calls).to.be.greaterThan(CLIENTS * REQUESTS * 3 * 0.9);
    expect(background.calls).to.be.greaterThan(0);
    expect(busy.wrong + alone.wrong, 'calls under the wrong request').to.equal(0);
    expect(background.linked, 'background calls under a request').to.equal(0);
    expect(alone.linked, 'calls of the one-at-a-time requests linked').to.be.greaterThan(0);
  });

  it('links the HTTP calls that carry the trace context of the one request open with it, by whatever loop', async () => {
    const { busy, alone, byForwarded } = await tallies(forward.pid, 800_000, 900_000);
    console.log(`      loop-forward.js, ${CLIENTS} clients: ${line(busy)}`);
    console.log(`      loop-forward.js, 1 client: ${line(alone)} (${byForwarded} linked by forwarded ids in all)`);
    expect(busy.calls).to.be.greaterThan(CLIENTS * REQUESTS * 2 * 0.9);
    expect(alone.calls).to.be.greaterThan(CLIENTS * REQUESTS * 2 * 0.9);
    expect(busy.wrong + alone.wrong, 'calls under the wrong request').to.equal(0);
    expect(busy.linked, 'calls of concurrent requests linked').to.be.greaterThan(busy.calls * 0.9);
    expect(alone.linked, 'calls of one-at-a-time requests linked').to.be.greaterThan(alone.calls * 0.9);
  });

  it('leaves Python asyncio\'s calls unlinked (its task continues a tick after the read), none wrong', async () => {
    const { busy, alone } = await tallies(asyncioLoop.pid);
    console.log(`      loop_asyncio.py, ${CLIENTS} clients: ${line(busy)}`);
    console.log(`      loop_asyncio.py, 1 client: ${line(alone)}`);
    expect(busy.calls).to.be.greaterThan(CLIENTS * REQUESTS * 2 * 0.9);
    expect(alone.calls).to.be.greaterThan(CLIENTS * REQUESTS * 2 * 0.9);
    expect(busy.wrong + alone.wrong, 'calls under the wrong request').to.equal(0);
  });
});
