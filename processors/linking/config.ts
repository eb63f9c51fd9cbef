import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';

export const schema = {
  link_window: setting.duration('2s', 'length of one link window; spans are bucketed by their start time, not by when they arrive'),
  link_windows: setting.nat(3, 'windows a span is kept for before its trace is emitted: size it to the longest request chain plus transport delay'),
  max_clock_skew: setting.duration('500ms', 'clock difference tolerated between hosts when a client span and a server span share connection and sequence number'),
  max_spans: setting.nat(200000, 'spans held at most; beyond it the oldest spans are emitted early (counted in espan_linking_spans_evicted_early_total)'),
  max_recent_links: setting.nat(100000, 'link keys of emitted traces remembered so late spans keep their trace id and parent'),
};

/** durations in milliseconds */
export type LinkingConfig = ConfigOf<typeof schema>;

export function validate(config: LinkingConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.link_window <= 0) problems.push({ path: 'link_window', message: 'must be longer than 0' });
  if (config.link_windows < 1) problems.push({ path: 'link_windows', message: 'must be at least 1' });
  if (config.max_spans < 1) problems.push({ path: 'max_spans', message: 'must be at least 1' });
  return problems;
}
