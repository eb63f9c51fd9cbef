import { expect } from 'chai';
import { ConfigInvalid, formatError, parseConfig } from './load';
import { testRegistry } from '../../test/helpers/components';

const FILE = 'pipeline.yaml';

function errorsOf(yaml: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(yaml, FILE, testRegistry(), env);
  } catch (e) {
    if (e instanceof ConfigInvalid) return e.errors.map(formatError);
    throw e;
  }
  return [];
}

describe('configuration loading and validation', () => {
  it('accepts a Collector-shaped config and fills defaults', () => {
    const cfg = parseConfig(
      `
receivers:
  replay:
    path: capture.espancap
processors:
  batch/small:
    timeout: 50ms
exporters:
  debug:
  file/out:
    path: \${env:OUT_DIR}/spans.json
extensions:
  health_check:
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [replay]
      processors: [batch/small]
      exporters: [debug]
`,
      FILE,
      testRegistry(),
      { OUT_DIR: '/tmp' },
    );
    expect(cfg.pipelines).to.have.length(1);
    expect(cfg.pipelines[0].signals).to.deep.equal(['records', 'records']);
    expect(cfg.components.get('processor:batch/small')!.config).to.deep.equal({ send_batch_size: 8192, send_batch_max_size: 0, timeout: 50 });
    expect(cfg.components.get('exporter:debug')!.config).to.have.property('verbosity', 'basic');
    expect(cfg.components.get('exporter:file/out')!.config).to.have.property('path', '/tmp/spans.json');
    expect(cfg.telemetry.metrics.address).to.equal('localhost:8888');
  });

  it('names an unknown component type and the known ones', () => {
    expect(errorsOf('receivers:\n  kafka:\nservice:\n  pipelines: {}\n')).to.include.members([
      'pipeline.yaml: receivers.kafka: unknown receiver type "kafka"; known types: ' + testRegistry().types('receiver').join(', '),
    ]);
  });

  it('loads a deprecated type name as its new type, with a warning naming both', () => {
    const cfg = parseConfig(
      `
receivers:
  test_source: {signal: messages}
processors:
  espan: {}
exporters:
  test_sink:
service:
  pipelines:
    traces: {receivers: [test_source], processors: [espan], exporters: [test_sink]}
`,
      FILE,
      testRegistry(),
      {},
    );
    expect(cfg.components.get('processor:espan')!.type).to.equal('span_builder');
    expect(cfg.warnings).to.deep.equal([{ file: FILE, path: 'processors.espan', message: 'the processor type "espan" is deprecated; it is now "span_builder"' }]);
  });

  it('names an unknown key with the keys that exist', () => {
    const errors = errorsOf(`
exporters:
  debug:
    verbosty: detailed
receivers:
  replay: {path: x}
service:
  pipelines:
    traces: {receivers: [replay], exporters: [debug]}
`);
    expect(errors).to.deep.equal(['pipeline.yaml: exporters.debug.verbosty: unknown key; expected one of: sampling_initial, sampling_thereafter, verbosity']);
  });

  it('names a mistyped key with what was expected', () => {
    const errors = errorsOf(`
receivers:
  replay: {path: x, batch_size: lots}
processors:
  batch: {timeout: soon}
exporters:
  debug: {verbosity: loud}
  file: {path: out.json, append: "yes"}
service:
  pipelines:
    traces: {receivers: [replay], processors: [batch], exporters: [debug]}
`);
    expect(errors).to.include('pipeline.yaml: receivers.replay.batch_size: expected a number, got string "lots"');
    expect(errors).to.include('pipeline.yaml: exporters.file.append: expected true or false, got string "yes"');
    expect(errors.find((e) => e.startsWith('pipeline.yaml: processors.batch.timeout: must be a duration'))).to.be.a('string');
    expect(errors.find((e) => e.startsWith('pipeline.yaml: exporters.debug.verbosity: must be one of the possible values'))).to.be.a('string');
  });

  it('reports a pipeline naming an undefined component', () => {
    const errors = errorsOf(`
receivers:
  replay: {path: x}
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [replay, otlp/missing]
      processors: [batch]
      exporters: [debug, file]
`);
    expect(errors).to.have.members([
      'pipeline.yaml: service.pipelines.traces.receivers[1]: receiver "otlp/missing" is not defined under receivers or connectors',
      'pipeline.yaml: service.pipelines.traces.processors[0]: processor "batch" is not defined under processors',
      'pipeline.yaml: service.pipelines.traces.exporters[1]: exporter "file" is not defined under exporters or connectors',
    ]);
  });

  it('refuses processors that do not chain by signal, naming both components', () => {
    const errors = errorsOf(`
receivers:
  test_source: {signal: records}
processors:
  to_spans:
  hold:
exporters:
  test_sink:
service:
  pipelines:
    traces: {receivers: [test_source], processors: [to_spans, hold], exporters: [test_sink]}
`);
    expect(errors).to.deep.equal(['pipeline.yaml: service.pipelines.traces.processors[1]: processor "hold" consumes records but processor "to_spans" produces spans']);
  });

  it('refuses an exporter that cannot take the pipeline signal', () => {
    const errors = errorsOf(`
receivers:
  replay: {path: x}
exporters:
  file: {path: out.json}
service:
  pipelines:
    traces: {receivers: [replay], exporters: [file]}
`);
    expect(errors).to.deep.equal(['pipeline.yaml: service.pipelines.traces.exporters[0]: exporter "file" takes spans or traces but receiver "replay" produces records']);
  });

  it('refuses receivers of different signals in one pipeline', () => {
    const errors = errorsOf(`
receivers:
  test_source/a: {signal: records}
  test_source/b: {signal: spans}
exporters:
  test_sink:
service:
  pipelines:
    traces: {receivers: [test_source/a, test_source/b], exporters: [test_sink]}
`);
    expect(errors[0]).to.equal(
      'pipeline.yaml: service.pipelines.traces.receivers: receiver "test_source/b" produces spans but receiver "test_source/a" produces records; receivers of one pipeline must produce the same signal',
    );
  });

  it('reports every problem at once, one line each', () => {
    const errors = errorsOf(`
receivers:
  replay: {}
  bogus:
processors:
  batch: {send_batch_size: -1}
exporters:
  debug: {verbosity: 3}
extra: true
service:
  pipelines:
    logs: {receivers: [replay], exporters: [debug]}
`);
    expect(errors).to.have.length.of.at.least(6);
    for (const e of errors) expect(e).to.match(/^pipeline\.yaml: \S+/).and.not.include('\n');
    expect(errors).to.include('pipeline.yaml: extra: unknown top-level key; expected one of: receivers, processors, exporters, connectors, extensions, service');
    expect(errors).to.include('pipeline.yaml: receivers.replay.path: required: the capture file to replay');
    expect(errors).to.include('pipeline.yaml: service.pipelines.logs: a pipeline id is a signal type (traces, metrics) optionally followed by /name');
  });

  it('reports YAML syntax errors with line and column', () => {
    const errors = errorsOf('receivers:\n  replay: {path: x\nservice: [\n');
    expect(errors[0]).to.match(/^pipeline\.yaml: line \d+ column \d+: /);
  });

  it('refuses bad component ids and a missing service extension', () => {
    const errors = errorsOf(`
receivers:
  Replay/X: {}
extensions:
  health_check:
service:
  extensions: [health_check, pprof]
  pipelines:
    traces: {receivers: [test_source], exporters: [test_sink]}
`);
    expect(errors).to.include('pipeline.yaml: receivers.Replay/X: a component id is "type" or "type/name" (type: lower-case letters, digits, _)');
    expect(errors).to.include('pipeline.yaml: service.extensions[1]: extension "pprof" is not defined under extensions');
  });
});
