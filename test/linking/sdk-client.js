/**
 * An application instrumented with the OpenTelemetry JS SDK: for each request
 * it starts a CLIENT span, sends W3C traceparent with it, ends the span, and
 * finally prints its spans as an OTLP/JSON export request on stdout.
 *   node sdk-client.js <url> <count>
 */
'use strict';
const http = require('node:http');
const { context, trace, SpanKind, ROOT_CONTEXT, defaultTextMapSetter } = require('@opentelemetry/api');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace');
const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');

const [url, count] = [process.argv[2], Number(process.argv[3] ?? 3)];
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'sdk-client' }),
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});
const tracer = provider.getTracer('espan-linking-test');
const propagator = new W3CTraceContextPropagator();

function get(headers) {
  return new Promise((resolve, reject) => {
    // a fresh connection per request, like the services: each request its own TCP stream
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
  });
}

async function main() {
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan('GET /front', { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET', 'url.full': url } });
    const headers = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    const status = await context.with(trace.setSpan(context.active(), span), () => get(headers));
    span.setAttribute('http.response.status_code', status);
    span.end();
    await new Promise((r) => setTimeout(r, 50));
  }
  await provider.forceFlush();
  process.stdout.write(Buffer.from(JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans())).toString('utf8'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
