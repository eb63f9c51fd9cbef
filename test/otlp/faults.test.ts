/**
 * Fault injection against the test backend: down at start, down mid-run,
 * UNAVAILABLE, slow, throttling, rejecting, partial success. Retries happen as
 * configured, nothing is lost while the queue has room, and the failed counter
 * equals exactly what did not fit.
 */
import { expect } from 'chai';
import { TestBackend } from './backend';
import { plainSpan, redPoints } from './fixtures';
import { resolveConfig } from '../../core/config/schema';
import { createOtlpGrpcExporter, otlpGrpcExporterFactory } from '../../exporters/otlp_grpc/factory';
import { buildExporter, FAST_RETRY, waitFor, type Kind } from './harness';

const spans = (from: number, n: number) => Array.from({ length: n }, (_, i) => plainSpan(from + i));
const endpoint = (kind: Kind, b: TestBackend) => (kind === 'grpc' ? b.grpcEndpoint : b.httpEndpoint);
const base = (kind: Kind, b: TestBackend, extra: Record<string, unknown> = {}) => ({
  endpoint: endpoint(kind, b),
  tls: { insecure: true },
  timeout: '500ms',
  retry_on_failure: FAST_RETRY,
  ...extra,
});

describe('OTLP export under faults', function () {
  this.timeout(30_000);
  let backend: TestBackend;
  beforeEach(async () => {
    backend = await new TestBackend().start();
  });
  afterEach(async () => {
    await backend.stop();
  });

  for (const kind of ['grpc', 'http'] as const) {
    describe(kind, () => {
      it('delivers everything when the backend is down at start and comes up later', async () => {
        await backend.stop();
        const { exporter, sent, failed } = buildExporter(kind, base(kind, backend));
        for (let i = 0; i < 5; i++) exporter.consume(spans(i * 10, 10), 'spans');
        await new Promise((r) => setTimeout(r, 300));
        expect(backend.requests).to.have.length(0);
        await backend.start();
        await waitFor(async () => (await sent()) === 50, 5000, 'all spans sent');
        expect((await exporter.shutdown(2000)).lost).to.equal(0);
        expect(await failed()).to.equal(0);
        expect(backend.accepted()).to.equal(50);
      });

      it('holds spans through an outage mid-run (scaled: 600 ms) and loses none while the queue has room', async () => {
        const { exporter, sent, failed } = buildExporter(kind, base(kind, backend, { sending_queue: { queue_size: 100, num_consumers: 2 } }));
        let n = 0;
        const produce = setInterval(() => {
          exporter.consume(spans(n, 5), 'spans');
          n += 5;
        }, 20);
        await new Promise((r) => setTimeout(r, 200));
        await backend.stop();
        await new Promise((r) => setTimeout(r, 600));
        await backend.start();
        await new Promise((r) => setTimeout(r, 200));
        clearInterval(produce);
        expect((await exporter.shutdown(5000)).lost).to.equal(0);
        expect(await failed()).to.equal(0);
        expect(await sent()).to.equal(n);
        expect(new Set(backend.spans().map((s) => s.spanId)).size).to.equal(n);
      });

      it('retries UNAVAILABLE answers', async () => {
        backend.fault = (i) => (i < 3 ? { kind: 'unavailable' } : undefined);
        const { exporter, sent, failed } = buildExporter(kind, base(kind, backend, { sending_queue: { num_consumers: 1 } }));
        exporter.consume(spans(0, 10), 'spans');
        exporter.consume(spans(10, 10), 'spans');
        expect((await exporter.shutdown(5000)).lost).to.equal(0);
        expect(await sent()).to.equal(20);
        expect(await failed()).to.equal(0);
        expect(backend.requests.map((r) => r.fault ?? 'ok')).to.deep.equal(['unavailable', 'unavailable', 'unavailable', 'ok', 'ok']);
      });

      it('retries answers slower than the timeout, and waits for slow ones within it', async () => {
        backend.fault = (i) => (i === 0 ? { kind: 'slow', delayMs: 1500 } : i === 1 ? { kind: 'slow', delayMs: 100 } : undefined);
        const { exporter, sent } = buildExporter(kind, base(kind, backend, { sending_queue: { num_consumers: 1 } }));
        exporter.consume(spans(0, 3), 'spans');
        expect((await exporter.shutdown(5000)).lost).to.equal(0);
        expect(await sent()).to.equal(3);
        // first attempt timed out (the backend still got it), the retry was slow but in time
        expect(backend.requests).to.have.length(2);
      });

      it('gives each signal its own timeout (OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT)', async () => {
        // The first request of each signal answers after 600 ms: past the traces timeout, within the metrics one.
        const firsts = new Set<string>();
        backend.fault = (_i, signal) => (firsts.has(signal) ? undefined : (firsts.add(signal), { kind: 'slow', delayMs: 600 }));
        const env = { OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '200', OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '3000' };
        const { exporter, sent } = buildExporter(kind, { endpoint: endpoint(kind, backend), tls: { insecure: true }, retry_on_failure: FAST_RETRY }, env);
        exporter.consume(spans(0, 2), 'spans');
        exporter.consume(redPoints(), 'metrics');
        expect((await exporter.shutdown(5000)).lost).to.equal(0);
        expect(await sent()).to.equal(6);
        const requests = (signal: string) => backend.requests.filter((r) => r.signal === signal).length;
        expect(requests('traces')).to.equal(2);
        expect(requests('metrics')).to.equal(1);
      });

      it('drops permanently rejected batches without retrying, counted exactly', async () => {
        backend.fault = (i) => (i === 1 ? { kind: 'reject' } : undefined);
        const { exporter, sent, failed } = buildExporter(kind, base(kind, backend, { sending_queue: { num_consumers: 1 } }));
        exporter.consume(spans(0, 4), 'spans');
        exporter.consume(spans(4, 7), 'spans');
        exporter.consume(spans(11, 2), 'spans');
        expect((await exporter.shutdown(5000)).lost).to.equal(0);
        expect(backend.requests).to.have.length(3);
        expect(await failed('permanent')).to.equal(7);
        expect(await sent()).to.equal(6);
      });

      it('counts partial success rejections', async () => {
        backend.fault = () => ({ kind: 'partial', rejected: 3, message: 'spans too old' });
        const { exporter, sent, failed, ctx } = buildExporter(kind, base(kind, backend));
        exporter.consume(spans(0, 10), 'spans');
        await exporter.shutdown(5000);
        expect(await failed('partial_success')).to.equal(3);
        expect(await sent()).to.equal(7);
        expect(ctx.logger.lines.some((l) => l.error_message === 'spans too old')).to.equal(true);
      });

      it('drops exactly what does not fit the queue while the backend is down', async () => {
        await backend.stop();
        const { exporter, sent, failed } = buildExporter(kind, base(kind, backend, { sending_queue: { queue_size: 5, num_consumers: 2 }, retry_on_failure: { ...FAST_RETRY, max_elapsed_time: 0 } }));
        // 2 batches go to the consumers, 5 wait in the queue, the rest are dropped.
        const sizes = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
        let from = 0;
        for (const n of sizes) {
          exporter.consume(spans(from, n), 'spans');
          from += n;
        }
        const kept = sizes.slice(0, 7).reduce((a, b) => a + b, 0);
        const dropped = sizes.slice(7).reduce((a, b) => a + b, 0);
        expect(await failed('queue_full')).to.equal(dropped);
        let ready = false;
        void exporter.ready!().then(() => (ready = true));
        await new Promise((r) => setTimeout(r, 100));
        expect(ready).to.equal(false);
        await backend.start();
        await waitFor(async () => (await sent()) === kept, 5000, 'queued spans sent');
        expect(ready).to.equal(true);
        expect((await exporter.shutdown(2000)).lost).to.equal(0);
        expect(await failed()).to.equal(dropped);
        expect(backend.accepted()).to.equal(kept);
      });
    });
  }

  it('grpc: honours RetryInfo on RESOURCE_EXHAUSTED', async () => {
    backend.fault = (i) => (i === 0 ? { kind: 'throttle', retryAfterMs: 300 } : undefined);
    const { exporter, sent } = buildExporter('grpc', base('grpc', backend));
    const t0 = Date.now();
    exporter.consume(spans(0, 2), 'spans');
    await exporter.shutdown(5000);
    expect(await sent()).to.equal(2);
    expect(Date.now() - t0).to.be.at.least(280);
  });

  it('http: honours Retry-After on 429', async () => {
    backend.fault = (i) => (i === 0 ? { kind: 'throttle', retryAfterMs: 1000 } : undefined);
    const { exporter, sent } = buildExporter('http', base('http', backend));
    const t0 = Date.now();
    exporter.consume(spans(0, 2), 'spans');
    await exporter.shutdown(5000);
    expect(await sent()).to.equal(2);
    expect(Date.now() - t0).to.be.at.least(950);
  });

  it('rides out a 60 s outage with the Collector default retry settings (virtual clock, real network)', async () => {
    // Real sockets and a real backend restart; the back-off waits run on a clock 100× faster
    // than real time, so the Collector's 5 s / ×1.5 / 30 s schedule is followed exactly in under a second.
    let now = 0;
    const waits: number[] = [];
    let downUntil = 60_000;
    const sleep = async (ms: number) => {
      waits.push(ms);
      now += ms;
      await new Promise((r) => setTimeout(r, ms / 100));
      if (now >= downUntil && downUntil) {
        downUntil = 0;
        await backend.start();
      }
      return true;
    };
    await backend.stop();
    const { config } = resolveConfig<any>(otlpGrpcExporterFactory.schema, { endpoint: backend.grpcEndpoint, tls: { insecure: true } });
    const built = buildExporter('grpc', { endpoint: backend.grpcEndpoint, tls: { insecure: true } });
    const exporter = createOtlpGrpcExporter(config, built.ctx, {}, { sleep, now: () => now, random: () => 0.5 });
    exporter.consume(spans(0, 25), 'spans');
    await waitFor(async () => (await built.sent()) === 25, 10_000, 'spans sent after the outage');
    expect(await built.failed()).to.equal(0);
    // 5, 7.5, 11.25, 16.875, 25.3125 s: the outage is over after the fifth wait (a sixth, capped
    // at max_interval, when the gRPC channel had not reconnected yet)
    expect(waits.slice(0, 5).map((w) => Math.round(w))).to.deep.equal([5000, 7500, 11250, 16875, 25313]);
    expect(waits.slice(5).every((w) => w === 30_000)).to.equal(true);
    expect(backend.accepted()).to.equal(25);
    expect((await exporter.shutdown(1000)).lost).to.equal(0);
  });
});
