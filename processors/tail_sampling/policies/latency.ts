import { setting, type ConfigOf } from '../../../core/config/schema';
import { Decision, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const latencyBlock = {
  threshold_ms: setting.int(0, 'trace duration (earliest start to latest end) that samples, ms'),
  upper_threshold_ms: setting.int(0, 'with it, the duration must lie in (threshold_ms, upper_threshold_ms]; 0: no upper bound'),
};

export type LatencyConfig = ConfigOf<typeof latencyBlock>;

/**
 * Samples on the trace's duration: earliest start to latest end, whatever
 * happened in between. Without an upper bound the threshold is inclusive
 * (>=); with one the window is (threshold, upper], as in the Collector.
 */
export class Latency implements PolicyEvaluator {
  constructor(private readonly config: LatencyConfig) {}

  evaluate(trace: TraceData): Decision {
    if (trace.spans.length === 0) return Decision.NotSampled;
    let min = trace.spans[0].startTimeUnixNano;
    let max = trace.spans[0].endTimeUnixNano;
    for (const s of trace.spans) {
      if (s.startTimeUnixNano < min) min = s.startTimeUnixNano;
      if (s.endTimeUnixNano > max) max = s.endTimeUnixNano;
    }
    // whole milliseconds, truncated, as Go's Duration.Milliseconds()
    const ms = Number((max - min) / 1_000_000n);
    const { threshold_ms: low, upper_threshold_ms: high } = this.config;
    const hit = high === 0 ? ms >= low : low < ms && ms <= high;
    return hit ? Decision.Sampled : Decision.NotSampled;
  }
}
