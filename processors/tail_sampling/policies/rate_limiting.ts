import { setting, type ConfigOf } from '../../../core/config/schema';
import { Decision, type PolicyContext, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const rateLimitingBlock = {
  spans_per_second: setting.int(0, 'spans sampled per second at most'),
};

export type RateLimitingConfig = ConfigOf<typeof rateLimitingBlock>;

/**
 * A token bucket of spans refilled at `spans_per_second` holding twice that,
 * starting full (golang.org/x/time/rate as the Collector uses it). A trace
 * passes only if all its spans fit.
 */
export class RateLimiting implements PolicyEvaluator {
  private tokens: number;
  private last: number;
  private readonly burst: number;

  constructor(
    private readonly config: RateLimitingConfig,
    private readonly ctx: PolicyContext,
  ) {
    this.burst = config.spans_per_second * 2;
    this.tokens = this.burst;
    this.last = ctx.now();
  }

  evaluate(trace: TraceData): Decision {
    const now = this.ctx.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.config.spans_per_second);
    this.last = now;
    const n = trace.spans.length;
    if (n <= this.tokens) {
      this.tokens -= n;
      return Decision.Sampled;
    }
    return Decision.NotSampled;
  }
}
