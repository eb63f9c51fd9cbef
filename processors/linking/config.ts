import type { ConfigSchema } from '../../core/config/schema';

export interface LinkingConfig {
  /** ms */
  link_window: number;
  link_windows: number;
  /** ms */
  max_clock_skew: number;
  max_spans: number;
  max_recent_links: number;
}

export const schema: ConfigSchema = {
  link_window: {
    doc: 'length of one link window; spans are bucketed by their start time, not by when they arrive',
    format: 'duration',
    default: '2s',
  },
  link_windows: {
    doc: 'windows a span is kept for before its trace is emitted: size it to the longest request chain plus transport delay',
    format: 'nat',
    default: 3,
  },
  max_clock_skew: {
    doc: 'clock difference tolerated between hosts when a client span and a server span share connection and sequence number',
    format: 'duration',
    default: '500ms',
  },
  max_spans: {
    doc: 'spans held at most; beyond it the oldest window is emitted early (counted in espan_linking_spans_evicted_early_total)',
    format: 'nat',
    default: 200000,
  },
  max_recent_links: {
    doc: 'link keys of emitted traces remembered so late spans keep their trace id and parent',
    format: 'nat',
    default: 100000,
  },
};

export function validate(config: LinkingConfig): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (config.link_window <= 0) problems.push({ path: 'link_window', message: 'must be longer than 0' });
  if (config.link_windows < 1) problems.push({ path: 'link_windows', message: 'must be at least 1' });
  if (config.max_spans < 1) problems.push({ path: 'max_spans', message: 'must be at least 1' });
  return problems;
}
