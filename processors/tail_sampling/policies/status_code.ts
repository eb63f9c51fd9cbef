import { StatusCode } from '../../../core/signals';
import { anySpan, Decision, type PolicyEvaluator, type TraceData } from './policy';

export interface StatusCodeConfig {
  status_codes: string[];
}

export const STATUS_NAMES: Record<string, StatusCode> = { OK: StatusCode.OK, ERROR: StatusCode.ERROR, UNSET: StatusCode.UNSET };

/** Samples traces with at least one span whose status is one of `status_codes`. */
export class StatusCodeFilter implements PolicyEvaluator {
  private readonly codes: Set<StatusCode>;

  constructor(config: StatusCodeConfig) {
    this.codes = new Set(config.status_codes.map((n) => STATUS_NAMES[n]));
  }

  evaluate(trace: TraceData): Decision {
    return anySpan(trace, (s) => this.codes.has(s.status.code));
  }
}
