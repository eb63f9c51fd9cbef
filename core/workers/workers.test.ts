import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { parseConfig, ConfigInvalid } from '../config/load';
import { FuncId, ConnMeta } from '../records/network-data';
import { Service } from '../service';
import type { HostInfo, NetworkRecord, Span } from '../signals';
import { memoryLogger } from '../telemetry/logger';
import { ServiceMetrics } from '../telemetry/metrics';
import { defaultRegistry } from '../../registry';
import { sinks, sources, testRegistry } from '../../test/helpers/components';
import { syntheticRecords, TEST_HOST } from '../../test/helpers/records';
import { StageWorkers, WorkerStageError } from './pool';
import { RecordsReader, shardOf, splitRecords } from './record-shards';
import { canonicalSpanLines } from '../../test/helpers/canonical-spans';

const CAPTURE = path.join(__dirname, '../../bench/testdata/linking-two-hosts.espcap');

function pipelineYaml(capture: string, out: string, processors: string[], workers: number): string {
  return `receivers: {replay: {path: ${JSON.stringify(capture)}}}
processors:
  parse: {}
  thread_correlation: {}
  propagation: {}
  span_builder: {}
  linking: {}
  tail_sampling: {decision_wait: 1s, policies: [{name: all, type: always_sample}]}
  batch: {}
exporters: {file: {path: ${JSON.stringify(out)}}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [${processors.join(', ')}], exporters: [file], workers: ${workers}}}
`;
}

async function run(capture: string, processors: string[], workers: number): Promise<{ spans: string[]; metrics: ServiceMetrics }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-workers-'));
  const out = path.join(dir, 'spans.json');
  try {
    const svc = new Service(parseConfig(pipelineYaml(capture, out, processors, workers), 'workers.yaml', defaultRegistry(), {}), { logger: memoryLogger() });
    await svc.start();
    await svc.receiversFinished();
    const report = await svc.shutdown();
    expect(report.failures).to.deep.equal([]);
    return { spans: canonicalSpanLines(fs.readFileSync(out, 'utf8')), metrics: svc.metrics };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What the stages counted, by processor: items in and out, drops, and the processors' own counters. */
async function stageCounts(metrics: ServiceMetrics): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const p of ['parse', 'thread_correlation', 'propagation', 'span_builder']) {
    counts[`${p} in`] = await metrics.total('espan_processor_incoming_items_total', { processor: p });
    counts[`${p} out`] = await metrics.total('espan_processor_outgoing_items_total', { processor: p });
    counts[`${p} dropped`] = await metrics.total('espan_processor_dropped_items_total', { processor: p });
  }
  for (const name of ['espan_parse_messages_total', 'espan_thread_correlation_calls_total', 'espan_propagation_extracted_total']) {
    counts[name] = await metrics.total(name);
  }
  return counts;
}

const ALL_IN_ONE = ['parse', 'thread_correlation', 'propagation', 'span_builder', 'linking', 'tail_sampling'];
const AGENT = ['parse', 'thread_correlation', 'propagation', 'span_builder', 'batch'];

describe('stage workers', function () {
  this.timeout(60_000);

  describe('give the same traces as the main thread alone', () => {
    let inProcess: Awaited<ReturnType<typeof run>>;
    before(async () => {
      inProcess = await run(CAPTURE, ALL_IN_ONE, 0);
      expect(inProcess.spans).to.have.length(120);
    });

    it('workers: 2', async () => {
      expect((await run(CAPTURE, ALL_IN_ONE, 2)).spans).to.deep.equal(inProcess.spans);
    });

    it('workers: 4, which puts the capture\'s processes on different workers and leaves some idle', async () => {
      // the point of the test: processes spread over workers
      expect(new Set([2143, 2144, 2250].map((pid) => shardOf(pid, 4))).size).to.be.greaterThan(1);
      const sharded = await run(CAPTURE, ALL_IN_ONE, 4);
      expect(sharded.spans).to.deep.equal(inProcess.spans);
      const counts = await stageCounts(inProcess.metrics);
      expect(counts['parse in']).to.be.greaterThan(0);
      expect(counts['span_builder out']).to.equal(120);
      expect(counts.espan_parse_messages_total).to.equal(120);
      expect(await stageCounts(sharded.metrics)).to.deep.equal(counts);
    });

    it('in the agent chain (no linking), workers: 1 being the main thread', async () => {
      const one = await run(CAPTURE, AGENT, 1);
      expect((await run(CAPTURE, AGENT, 3)).spans).to.deep.equal(one.spans);
      expect(one.spans).to.have.length(120);
    });
  });

  it('records cross to the workers as they were: every field, their order within a shard, their hosts', () => {
    const otherHost: HostInfo = { hostId: 'other', hostName: 'other-host', bootTimeUnixNano: 5n };
    const records = syntheticRecords(300, 7).map((r, i) => ({ ...r, pid: 1000 + (i % 5), host: i % 3 === 0 ? otherHost : TEST_HOST }));
    const parts = splitRecords(records, 3);
    const reader = new RecordsReader();
    const fields = (r: NetworkRecord) => ({ ...Object.fromEntries(Object.keys(records[0]).map((k) => [k, (r as any)[k]])), payload: Buffer.from(r.payload).toString('hex') });
    parts.forEach((part, shard) => {
      const back = reader.read(part);
      const sent = records.filter((r) => shardOf(r.pid, 3) === shard);
      expect(back.map(fields)).to.deep.equal(sent.map(fields));
    });
    // one host object per host, as on the main thread
    const hosts = new Set(parts.flatMap((p) => reader.read(p).map((r) => r.host)));
    expect(hosts.size).to.equal(2);
  });

  it('flushes what the workers hold at shutdown, before the stages after them flush', async () => {
    const yaml = (workers: number) => `
receivers: {test_source: {signal: records}}
processors: {parse: {}, span_builder: {}, batch: {timeout: 1h}}
exporters: {test_sink: {}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [test_source], processors: [parse, span_builder, batch], exporters: [test_sink], workers: ${workers}}}
`;
    const spansAfterShutdown = async (workers: number): Promise<number> => {
      sources.clear();
      sinks.clear();
      const svc = new Service(parseConfig(yaml(workers), 'flush.yaml', testRegistry(), {}), { logger: memoryLogger() });
      await svc.start();
      // requests that nobody answers: parse holds them until its idle timeout, or until it flushes
      sources.get('test_source')!.next(unanswered([4001, 4002, 4003, 4004]));
      await new Promise((r) => setTimeout(r, 50));
      expect(sinks.get('test_sink')!.items()).to.have.length(0);
      const report = await svc.shutdown();
      expect(report.failures).to.deep.equal([]);
      return sinks.get('test_sink')!.items().length;
    };
    expect(await spansAfterShutdown(0)).to.equal(4);
    expect(await spansAfterShutdown(2)).to.equal(4);
  });

  it('refuses a workers setting it cannot honour, saying why', () => {
    const problems = (pipeline: string, receivers = 'replay: {path: x.espcap}'): string => {
      try {
        parseConfig(
          `receivers: {${receivers}}
processors: {parse: {}, span_builder: {}, batch: {}, linking: {}}
exporters: {nop: {}}
service: {pipelines: {traces: ${pipeline}}}`,
          'bad.yaml',
          defaultRegistry(),
          {},
        );
      } catch (e) {
        expect(e).to.be.instanceOf(ConfigInvalid);
        return (e as ConfigInvalid).message;
      }
      return 'accepted';
    };
    const ok = '{receivers: [replay], processors: [parse, span_builder, batch], exporters: [nop]';
    expect(problems(`${ok}, workers: 2}`)).to.equal('accepted');
    expect(problems(`${ok}, workers: -1}`)).to.match(/service\.pipelines\.traces\.workers: expected a whole number of worker threads from 0 to 256/);
    expect(problems(`${ok}, workers: two}`)).to.match(/traces\.workers: expected a whole number/);
    expect(problems(`${ok}, workers: 1.5}`)).to.match(/traces\.workers: expected a whole number/);
    expect(problems('{receivers: [replay], processors: [batch, parse, span_builder], exporters: [nop], workers: 2}')).to.match(
      /traces\.processors\[0\]: workers: 2: processor "batch" cannot run in a worker thread: only parse, thread_correlation, propagation, span_builder can/,
    );
    expect(problems('{receivers: [replay], processors: [parse], exporters: [nop], workers: 2}')).to.match(/traces\.workers: workers: 2: the pipeline's processors must begin with parse, thread_correlation, propagation, span_builder up to spans/);
    expect(problems('{receivers: [otlp], processors: [linking], exporters: [nop], workers: 2}', 'otlp: {}')).to.match(/worker threads take records \(sharded by process id\), but this pipeline's receivers produce spans/);
    // off, or one: the main thread, whatever the processors
    expect(problems('{receivers: [otlp], processors: [linking], exporters: [nop], workers: 1}', 'otlp: {}')).to.equal('accepted');
  });

  it('a worker that dies stops its pipeline with an error naming it; the process goes on', async () => {
    const metrics = new ServiceMetrics();
    // linking cannot run in a worker: the worker throws while it starts, as a crashing one would
    const workers = new StageWorkers({
      workers: 2,
      pipeline: 'traces',
      stages: [{ id: 'linking', type: 'linking', config: {}, signal: 'spans' }],
      outSignal: 'traces',
      configDir: '.',
      logger: memoryLogger(),
      metrics,
    });
    const input = new Subject<NetworkRecord[]>();
    const output = lastValueFrom(input.pipe(workers.operator, toArray()));
    input.next(unanswered([4001]));
    const failure = await output.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).to.be.instanceOf(WorkerStageError);
    expect((failure as WorkerStageError).stage).to.equal('workers');
    expect((failure as Error).message).to.match(/stage worker \d crashed: .*processor type "linking" cannot run in a worker thread/);
    await workers.shutdown();
  });
});

/** One HTTP request written by each process, never answered. */
function unanswered(pids: number[]): NetworkRecord[] {
  return pids.map((pid, i) => {
    const payload = Buffer.from(`GET /held/${pid} HTTP/1.1\r\nHost: svc\r\n\r\n`);
    return {
      ts: 1_000_000_000 + i * 1000,
      tsTail: 1_000_000_500 + i * 1000,
      tid: pid,
      utid: 0,
      pid,
      comm: 'client',
      connId: (pid).toString(16).padStart(16, '0') + '0000000100000002',
      saddr: '10.0.0.1',
      sport: 40000 + i,
      daddr: '10.0.0.2',
      dport: 80,
      netns: 4026531840,
      connMeta: ConnMeta.CLIENT,
      tcpSeq: 1000,
      funcId: FuncId.WRITE,
      fd: 10,
      bufLen: payload.length,
      actSize: payload.length,
      index: 0,
      payload,
      host: TEST_HOST,
    };
  });
}
