/**
 * The one OTLP exporter behind otlp_grpc and otlp_http. Each signal's
 * settings (client settings, endpoint, encoding) are resolved once, from the
 * config and then the OTEL_EXPORTER_OTLP_* variables, and each signal is sent
 * with its own: its serializer, its timeout, its transport settings.
 */
import type { ComponentContext, Exporter } from '../../core/component';
import { resolveClient, type Env, type ResolvedClient } from './client';
import type { OtlpClientConfig } from './config';
import { QueuedSender, type SenderClock } from './sender';
import { otlpReleaser, otlpSerializer, type OtlpEncoding } from './serializer';
import { perSignal, type OtlpSignal, type PerSignal, type Transport } from './transport';

/** Everything one signal is sent with. */
export interface SignalSettings<Endpoint> extends ResolvedClient {
  endpoint: Endpoint;
  encoding: OtlpEncoding;
}

/** What differs between OTLP/gRPC and OTLP/HTTP. */
export interface OtlpWire<Endpoint> {
  /** where one signal goes */
  endpoint(signal: OtlpSignal, client: ResolvedClient): Endpoint;
  encoding(signal: OtlpSignal): OtlpEncoding;
  transport(signals: PerSignal<SignalSettings<Endpoint>>): Transport;
  /** the endpoint, for the log */
  show(endpoint: Endpoint): string;
}

export function newOtlpExporter<Endpoint>(config: OtlpClientConfig, ctx: ComponentContext, env: Env, wire: OtlpWire<Endpoint>, clock: SenderClock = {}): Exporter {
  const signals = perSignal((signal): SignalSettings<Endpoint> => {
    const client = resolveClient(config, signal, env, ctx.configDir);
    return { ...client, endpoint: wire.endpoint(signal, client), encoding: wire.encoding(signal) };
  });
  const sender = new QueuedSender({
    queue: config.sending_queue,
    retry: config.retry_on_failure,
    signals: perSignal((signal) => {
      const { encoding, timeoutMs } = signals[signal];
      return { serialize: otlpSerializer(signal, encoding), release: otlpReleaser(signal, encoding), timeoutMs };
    }),
    transport: wire.transport(signals),
    ctx,
    ...clock,
  });
  for (const [signal, s] of Object.entries(signals)) {
    ctx.logger.debug('exporter configured', { signal, endpoint: wire.show(s.endpoint), encoding: s.encoding, gzip: s.gzip, timeout_ms: s.timeoutMs });
  }
  return {
    consume: (batch, signal) => sender.consume(batch, signal),
    ready: () => sender.ready(),
    shutdown: (deadlineMs) => sender.shutdown(deadlineMs),
  };
}
