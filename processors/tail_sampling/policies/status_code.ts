import { setting, type ConfigOf } from '../../../core/config/schema';
import { StatusCode } from '../../../core/signals';
import { anySpan, Decision, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const statusCodeBlock = {
  status_codes: setting.stringList([], 'span statuses that sample: OK, ERROR, UNSET (required)'),
};

export type StatusCodeConfig = ConfigOf<typeof statusCodeBlock>;

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
