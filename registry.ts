/**
 * Every component espan knows, one line each: adding a receiver, processor,
 * exporter or extension is its folder plus one line here.
 */
import { Registry, type AnyFactory } from './core/component';
import { replayFactory } from './receivers/replay/factory';
import { ebpfFactory } from './receivers/ebpf/factory';
import { pcapFactory } from './receivers/pcap/factory';
import { parseFactory } from './processors/parse/factory';
import { batchFactory } from './processors/batch/factory';
import { debugFactory } from './exporters/debug/factory';
import { fileFactory } from './exporters/file/factory';
import { nopFactory } from './exporters/nop/factory';
import { recordFactory } from './exporters/record/factory';
import { healthCheckFactory } from './extensions/health_check/factory';
import { tailSamplingFactory } from './processors/tail_sampling/factory';
import { linkingFactory } from './processors/linking/factory';
import { otlpReceiverFactory } from './receivers/otlp/factory';
import { otlpGrpcExporterFactory } from './exporters/otlp_grpc/factory';
import { otlpHttpExporterFactory } from './exporters/otlp_http/factory';
import { threadCorrelationFactory } from './processors/thread_correlation/factory';
import { propagationFactory } from './processors/propagation/factory';
import { spanBuilderFactory } from './processors/span_builder/factory';
import { spanMetricsFactory } from './connectors/spanmetrics/factory';

export const factories: AnyFactory[] = [
  replayFactory,
  ebpfFactory,
  pcapFactory,
  parseFactory,
  batchFactory,
  debugFactory,
  fileFactory,
  nopFactory,
  recordFactory,
  healthCheckFactory,
  tailSamplingFactory,
  linkingFactory,
  otlpReceiverFactory,
  otlpGrpcExporterFactory,
  otlpHttpExporterFactory,
  threadCorrelationFactory,
  propagationFactory,
  spanBuilderFactory,
  spanMetricsFactory,
];

export function defaultRegistry(): Registry {
  return new Registry(factories);
}
