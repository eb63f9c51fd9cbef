/**
 * Test stand-ins for the next stage, as the Collector's consumertest.TracesSink:
 * run an operator over batches and collect what it emits, or an exporter that keeps batches.
 */
import { from, lastValueFrom, toArray, type OperatorFunction } from 'rxjs';
import type { Exporter, ExportResult } from '../../core/component';
import type { SignalType } from '../../core/signals';

/** Feeds `batches` through `op`, completes, and returns every emitted batch. */
export async function runOperator<I, O>(op: OperatorFunction<I[], O[]>, batches: I[][]): Promise<O[][]> {
  return lastValueFrom(from(batches).pipe(op, toArray()));
}

/** Same, flattened to items. */
export async function runOperatorItems<I, O>(op: OperatorFunction<I[], O[]>, batches: I[][]): Promise<O[]> {
  return (await runOperator(op, batches)).flat();
}

export class SinkExporter implements Exporter {
  readonly batches: Array<{ signal: SignalType; items: unknown[] }> = [];
  shutdownCalled = false;

  consume(batch: unknown[], signal: SignalType): void {
    this.batches.push({ signal, items: batch });
  }

  items<T = unknown>(): T[] {
    return this.batches.flatMap((b) => b.items as T[]);
  }

  async shutdown(): Promise<ExportResult> {
    this.shutdownCalled = true;
    return { lost: 0 };
  }
}
