import { setting, type ConfigOf } from '../../../core/config/schema';
import { anySpan, Decision, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const traceStateBlock = {
  key: setting.string('', 'tracestate key to look at (required)'),
  values: setting.stringList([], 'its values that sample'),
};

export type TraceStateConfig = ConfigOf<typeof traceStateBlock>;

/** W3C tracestate: `k1=v1,k2=v2`; undefined when malformed, as the Collector skips such spans. */
export function traceStateValue(traceState: string, key: string): string | undefined {
  for (const member of traceState.split(',')) {
    const m = member.trim();
    if (m === '') continue;
    const eq = m.indexOf('=');
    if (eq <= 0) return undefined;
    if (m.slice(0, eq) === key) return m.slice(eq + 1);
  }
  return undefined;
}

/** Samples traces with a span whose tracestate holds `key` with one of `values`. */
export class TraceState implements PolicyEvaluator {
  private readonly values: Set<string>;

  constructor(private readonly config: TraceStateConfig) {
    // a list-member may not exceed 256 characters, so longer values can never match
    this.values = new Set(config.values.filter((v) => v !== '' && config.key.length + v.length < 256));
  }

  evaluate(trace: TraceData): Decision {
    return anySpan(trace, (s) => {
      if (!s.traceState) return false;
      const v = traceStateValue(s.traceState, this.config.key);
      return v !== undefined && this.values.has(v);
    });
  }
}
