/**
 * Pipelines stay apart: a processor that throws stops only its own pipeline,
 * and items a receiver hands to several pipelines are never changed under one
 * of them by another.
 */
import { expect } from 'chai';
import { parseConfig } from './config/load';
import { Service } from './service';
import { memoryLogger } from './telemetry/logger';
import { sinks, sources, testRegistry } from '../test/helpers/components';
import { espan } from '../processors/linking/testutil';
import type { Span, Trace } from './signals';

const NO_METRICS = 'telemetry: {metrics: {level: none}}';

function service(yaml: string, logger = memoryLogger()): Service {
  return new Service(parseConfig(yaml, 'test.yaml', testRegistry(), {}), { logger, shutdownDeadlineMs: 2000 });
}

/** Collects what the process reports as uncaught while `run` goes on (RxJS rethrows unrouted errors on a timer). */
async function uncaughtDuring(run: () => Promise<void>): Promise<unknown[]> {
  const uncaught: unknown[] = [];
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const record = (e: unknown): void => void uncaught.push(e);
  process.on('uncaughtException', record);
  try {
    await run();
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    process.removeListener('uncaughtException', record);
    for (const l of listeners) process.on('uncaughtException', l);
  }
  return uncaught;
}

describe('service: pipelines stay apart', () => {
  beforeEach(() => {
    sources.clear();
    sinks.clear();
  });

  it('a processor that throws mid-stream stops its own pipeline only: logged, counted, the others run and flush', async () => {
    // An item no stage can read (null; for traces, whose receiver counts spans, a trace with no id)
    // makes each real processor throw, as a bug in it would.
    // (espan guards each message itself: it counts a malformed one and goes on.)
    const inputs: Record<string, string> = { parse: 'records', thread_correlation: 'messages', propagation: 'messages', linking: 'spans', tail_sampling: 'traces' };
    const failing = Object.keys(inputs);
    const settings: Record<string, string> = { tail_sampling: '{policies: [{name: all, type: always_sample}]}' };
    const logger = memoryLogger();
    const svc = service(
      `
receivers:
${failing.map((p) => `  test_source/${p}: {signal: ${inputs[p]}}`).join('\n')}
  test_source/healthy: {signal: records}
processors:
${failing.map((p) => `  ${p}: ${settings[p] ?? ''}`).join('\n')}
  hold:
exporters:
  test_sink:
service:
  telemetry: {metrics: {level: basic, address: "localhost:0"}}
  pipelines:
${failing.map((p) => `    traces/${p}: {receivers: [test_source/${p}], processors: [${p}], exporters: [test_sink]}`).join('\n')}
    traces/healthy: {receivers: [test_source/healthy], processors: [hold], exporters: [test_sink/healthy]}
  `.replace('test_sink:\n', 'test_sink:\n  test_sink/healthy:\n'),
      logger,
    );
    let report: Awaited<ReturnType<Service['shutdown']>> | undefined;
    const uncaught = await uncaughtDuring(async () => {
      await svc.start();
      sources.get('test_source/healthy')!.next(['first']);
      for (const p of failing) sources.get(`test_source/${p}`)!.next([inputs[p] === 'traces' ? { traceId: null, spans: { length: 1 } } : null]);
      // the healthy pipeline keeps taking items after the failures
      sources.get('test_source/healthy')!.next(['second']);
      await new Promise((r) => setTimeout(r, 10));
      report = await svc.shutdown();
    });
    expect(uncaught, 'errors that escaped the pipelines').to.deep.equal([]);
    // shutdown still flushes what the healthy pipeline held
    expect(sinks.get('test_sink/healthy')!.items()).to.deep.equal(['first', 'second']);
    for (const p of failing) {
      expect(await svc.metrics.total('espan_processor_failures_total', { processor: p, pipeline: `traces/${p}` }), p).to.equal(1);
      expect(report!.failures.some((f) => f.startsWith(`pipeline traces/${p}: processor ${p}: `)), p).to.equal(true);
    }
    const logged = logger.lines.filter((l) => l.level === 'error' && l.msg === 'pipeline stopped by an error').map((l) => l.at);
    expect(logged.sort()).to.deep.equal(failing.map((p) => `processor ${p}`).sort());
  });

  it('a pipeline that only reads sees the items as the receiver gave them, while another one links them', async () => {
    const svc = service(`
receivers:
  test_source: {signal: spans}
processors:
  linking: {link_window: 10ms, link_windows: 1}
exporters:
  test_sink/linked:
  test_sink/raw:
service:
  ${NO_METRICS}
  pipelines:
    traces/linked: {receivers: [test_source], processors: [linking], exporters: [test_sink/linked]}
    traces/raw: {receivers: [test_source], exporters: [test_sink/raw]}
`);
    await svc.start();
    const client = espan({ kind: 'client', startMs: 1000, durationMs: 10, host: 'a', conn: 'c1', seq: 7 });
    const server = espan({ kind: 'server', startMs: 1001, durationMs: 8, host: 'b', conn: 'c1', seq: 7 });
    sources.get('test_source')!.next([client, server]);
    await svc.shutdown();
    const linked = sinks.get('test_sink/linked')!.items<Trace>();
    expect(linked).to.have.length(1);
    expect(linked[0].spans.find((s) => s.spanId === server.spanId)!.parentSpanId).to.equal(client.spanId);
    const raw = sinks.get('test_sink/raw')!.items<Span>();
    expect(raw.map((s) => [s.traceId, s.parentSpanId])).to.deep.equal([
      ['', undefined],
      ['', undefined],
    ]);
  });

  it('two linking pipelines on one receiver give the same traces as each gives alone', async () => {
    // A client call arrives first and its request later: pipeline fast (short window) has emitted the call as a
    // trace of its own by then, pipeline slow (long window) still holds it and parents it under the request.
    const processors = `
processors:
  linking/fast: {link_window: 10ms, link_windows: 1, max_clock_skew: 0s}
  linking/slow: {link_window: 10s, link_windows: 3}`;
    const call = (): Span => espan({ kind: 'client', startMs: 1010, durationMs: 10, host: 'a', thread: 't1', spanId: '00000000000000a2' });
    const request = (): Span => espan({ kind: 'server', startMs: 1000, durationMs: 50, host: 'a', thread: 't1', spanId: '00000000000000a1' });
    const run = async (pipelines: Record<string, string>): Promise<Record<string, string[]>> => {
      sinks.clear();
      const svc = service(`
receivers:
  test_source: {signal: spans}
${processors}
exporters:
${Object.keys(pipelines).map((p) => `  test_sink/${p}:`).join('\n')}
service:
  ${NO_METRICS}
  pipelines:
${Object.entries(pipelines).map(([p, linking]) => `    traces/${p}: {receivers: [test_source], processors: [${linking}], exporters: [test_sink/${p}]}`).join('\n')}
`);
      await svc.start();
      sources.get('test_source')!.next([call()]);
      await new Promise((r) => setTimeout(r, 60));
      sources.get('test_source')!.next([request()]);
      await svc.shutdown();
      const traces: Record<string, string[]> = {};
      for (const p of Object.keys(pipelines)) {
        traces[p] = sinks
          .get(`test_sink/${p}`)!
          .items<Trace>()
          .flatMap((t) => t.spans.map((s) => `${s.spanId} trace=${s.traceId} parent=${s.parentSpanId ?? '-'}`))
          .sort();
      }
      return traces;
    };
    const alone = { ...(await run({ fast: 'linking/fast' })), ...(await run({ slow: 'linking/slow' })) };
    const slowTrace = /trace=(\w+)/.exec(alone.slow[0])![1];
    expect(alone.slow).to.deep.equal([`00000000000000a1 trace=${slowTrace} parent=-`, `00000000000000a2 trace=${slowTrace} parent=00000000000000a1`]);
    const both = await run({ fast: 'linking/fast', slow: 'linking/slow' });
    expect(both).to.deep.equal(alone);
  });
});
