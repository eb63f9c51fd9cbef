/** Components for core tests: a source that emits given batches, a holding processor, a sink. */
import { map, Observable, Subject } from 'rxjs';
import type { ExporterFactory, ProcessorFactory, ReceiverFactory } from '../../core/component';
import { Registry } from '../../core/component';
import { SIGNAL_TYPES, type SignalType, type Span } from '../../core/signals';
import { factories } from '../../registry';
import { SinkExporter } from './sink';

/** Every `test_source` receiver created, by id: tests push batches through them. */
export const sources = new Map<string, Subject<unknown[]>>();
export const sinks = new Map<string, SinkExporter>();

export const testSourceFactory: ReceiverFactory<{ signal: SignalType }> = {
  kind: 'receiver',
  type: 'test_source',
  schema: { signal: { doc: 'signal produced', format: [...SIGNAL_TYPES], default: 'records' } },
  produces: (c) => c.signal,
  create(_c, ctx) {
    const subject = new Subject<unknown[]>();
    sources.set(ctx.id, subject);
    return { output: subject.asObservable() as Observable<any>, start: async () => {}, shutdown: async () => subject.complete() };
  },
};

/** Holds every item until its input completes: shows that shutdown flushes. */
export const holdFactory: ProcessorFactory<{ consumes: string; produces: string }> = {
  kind: 'processor',
  type: 'hold',
  schema: {
    consumes: { doc: '', format: String, default: 'records' },
    produces: { doc: '', format: String, default: 'records' },
  },
  consumes: 'records',
  produces: 'records',
  create: () => ({
    operator: (source) =>
      new Observable((sub) => {
        const held: unknown[] = [];
        return source.subscribe({
          next: (b) => held.push(...b),
          error: (e) => sub.error(e),
          complete: () => {
            sub.next(held as any[]);
            sub.complete();
          },
        });
      }),
  }),
};

/** records → spans, to test chaining: a stand-in with the signature of a real stage (it makes no spans). */
export const toSpansFactory: ProcessorFactory<Record<string, never>, 'records', 'spans'> = {
  kind: 'processor',
  type: 'to_spans',
  schema: {},
  consumes: 'records',
  produces: 'spans',
  create: () => ({ operator: map((): Span[] => []) }),
};

export const testSinkFactory: ExporterFactory<{ accepts: string[] }> = {
  kind: 'exporter',
  type: 'test_sink',
  schema: { accepts: { doc: '', format: 'string-list', default: [...SIGNAL_TYPES] } },
  accepts: (c) => c.accepts as SignalType[],
  create(_c, ctx) {
    const sink = new SinkExporter();
    sinks.set(ctx.id, sink);
    return sink;
  },
};

export function testRegistry(): Registry {
  return new Registry([...factories, testSourceFactory, holdFactory, toSpansFactory, testSinkFactory]);
}
