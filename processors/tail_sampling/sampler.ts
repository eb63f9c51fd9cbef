/**
 * The tail sampler's state, free of RxJS so it can be driven by a test clock
 * or a benchmark loop: traces wait `decision_wait` from their first span, then
 * the policies vote. A trace that linking released whole (its link windows
 * closed) has already waited there, and is decided on arrival. Decisions
 * outlive the spans (bounded by `num_traces` and the decision caches) so late
 * spans follow the decision their trace got.
 */
import { Queue } from '../../core/collections/queue';
import { TwoGenerationMap } from '../../core/collections/two-generation-map';
import type { ComponentTelemetry } from '../../core/telemetry/metrics';
import type { Trace } from '../../core/signals';
import type { StatefulEngine } from '../../core/stateful-operator';
import { toCount, withDefaults, type TailSamplingConfig } from './config';
import { buildPolicy } from './policies/build';
import { Decision, type PolicyContext, type PolicyEvaluator } from './policies/policy';
import { addSpans, hashOf, held as undecided, NOT_HELD, TraceTable, type Held } from './traces';

interface NamedPolicy {
  name: string;
  evaluator: PolicyEvaluator;
}

/** Trace ids given one decision; an id looked up again is kept longer. */
type DecisionCache = TwoGenerationMap<string, true>;

function decisionCache(size: number): DecisionCache | undefined {
  return size > 0 ? new TwoGenerationMap(size) : undefined;
}

const DECISION_NAMES: Record<number, string> = {
  [Decision.Sampled]: 'sampled',
  [Decision.NotSampled]: 'not_sampled',
  [Decision.Dropped]: 'dropped',
  [Decision.Error]: 'error',
  [Decision.InvertSampled]: 'inverted_sampled',
  [Decision.InvertNotSampled]: 'inverted_not_sampled',
};

/**
 * The Collector's precedence: a drop vote wins, then an inverted not-sampled,
 * then any sample, then an inverted sample unless some policy said not sampled.
 */
export function finalDecision(votes: ReadonlySet<Decision>): Decision {
  let mask = 0;
  for (const d of votes) mask |= 1 << d;
  return finalDecisionOf(mask);
}

/** finalDecision over a bit set of votes (bit d for Decision d): no Set per trace on the hot path. */
function finalDecisionOf(mask: number): Decision {
  if (mask & (1 << Decision.Dropped)) return Decision.Dropped;
  if (mask & (1 << Decision.InvertNotSampled)) return Decision.NotSampled;
  if (mask & (1 << Decision.Sampled)) return Decision.Sampled;
  if (mask & (1 << Decision.InvertSampled) && !(mask & (1 << Decision.NotSampled))) return Decision.Sampled;
  return Decision.NotSampled;
}

/** Decision values are 0..DECISIONS-1: vote counts live in flat arrays indexed by them. */
const DECISIONS = 7;

export class TailSampler implements StatefulEngine<Trace, Trace> {
  /** the num_traces most recent traces, decided or gathering spans */
  private readonly traces: TraceTable;
  /** undecided traces in arrival order; arrival order is due order since the wait is fixed */
  private readonly pending = new Queue<Held>();
  private readonly policies: NamedPolicy[];
  /** ids of decided traces whose spans left (undefined when its size is 0): late spans follow the decision */
  private readonly sampledCache: DecisionCache | undefined;
  private readonly notSampledCache: DecisionCache | undefined;
  private readonly count: {
    decisions: (n: number, labels: Record<string, string>) => void;
    policy: (n: number, labels: Record<string, string>) => void;
    late: (n: number, labels: Record<string, string>) => void;
  };
  /** decisions since the last report, counted in numbers (not in a Map of built key strings) and reported once per call */
  private readonly finals = new Array<number>(DECISIONS).fill(0);
  /** votes[policy * DECISIONS + decision] */
  private readonly votes: number[];
  private notSampledSpans = 0;
  private droppedSpans = 0;
  /** scheduler ms when the sampler was made: arrivals are counted from it, small integers where the clock's own ms would be a heap number per trace */
  private readonly since: number;

  constructor(
    private readonly config: TailSamplingConfig,
    private readonly clock: PolicyContext,
    private readonly telemetry: ComponentTelemetry,
  ) {
    this.since = clock.now();
    this.traces = new TraceTable(Math.max(1, config.num_traces));
    const configs = config.policies.map(withDefaults);
    // drop policies first: their vote overrides all others, so the others can be skipped
    const ordered = [...configs.filter((p) => p.type === 'drop'), ...configs.filter((p) => p.type !== 'drop')];
    this.policies = ordered.map((p) => ({ name: p.name, evaluator: buildPolicy(p, clock) }));
    this.votes = new Array<number>(this.policies.length * DECISIONS).fill(0);
    this.sampledCache = decisionCache(toCount(config.decision_cache.sampled_cache_size));
    this.notSampledCache = decisionCache(toCount(config.decision_cache.non_sampled_cache_size));
    this.count = {
      decisions: telemetry.counter('espan_tail_sampling_traces_total', 'Traces decided, by final decision.', ['decision']),
      policy: telemetry.counter('espan_tail_sampling_policy_decisions_total', 'Votes of each policy, by decision.', ['policy', 'decision']),
      late: telemetry.counter('espan_tail_sampling_late_spans_total', 'Spans that arrived after their trace was decided, by that decision.', ['decision']),
    };
  }

  /** Number of traces held (undecided and recently decided). */
  get size(): number {
    return this.traces.size;
  }

  /**
   * Takes a batch; returns what is released at once: late spans of sampled
   * traces, cache hits, sampled whole traces, and with decision_wait 0 every
   * trace decided on arrival.
   */
  add(traces: readonly Trace[]): Trace[] {
    const out: Trace[] = [];
    const arrival = this.clock.now() - this.since;
    let lateSampled = 0;
    let lateNotSampled = 0;
    for (const t of traces) {
      if (t.spans.length === 0) continue;
      const id = t.traceId;
      const hash = hashOf(id);
      const slot = this.traces.find(id, hash);
      if (slot === NOT_HELD) {
        if (this.sampledCache?.getAndRenew(id)) {
          out.push(t);
          lateSampled += t.spans.length;
          continue;
        }
        if (this.notSampledCache?.getAndRenew(id)) {
          lateNotSampled += t.spans.length;
          continue;
        }
        if (t.whole) {
          // linking held it for its windows already: decided now, spans later than those follow the decision
          this.pushedOut(this.traces.admitDecided(id, hash, this.decide(id, t, out)));
        } else {
          const held = undecided(t, arrival);
          this.pushedOut(this.traces.admitUndecided(id, hash, held));
          this.pending.push(held);
        }
        continue;
      }
      const d = this.traces.decision(slot);
      if (d === Decision.Unspecified) {
        addSpans(this.traces.held(slot), t.spans);
      } else if (d === Decision.Sampled) {
        out.push(t);
        lateSampled += t.spans.length;
      } else {
        lateNotSampled += t.spans.length;
      }
    }
    if (lateSampled) this.count.late(lateSampled, { decision: 'sampled' });
    if (lateNotSampled) {
      this.count.late(lateNotSampled, { decision: 'not_sampled' });
      this.telemetry.dropped(lateNotSampled, 'not_sampled');
    }
    if (this.config.decision_wait <= 0) this.decideWhile(() => true, out);
    this.report();
    return out;
  }

  /** A trace pushed out of num_traces by a new one: decided traces leave quietly, an undecided one loses its spans before a decision. */
  private pushedOut(held: Held | undefined): void {
    if (held) this.telemetry.dropped(held.trace.spans.length, 'trace_dropped_too_early');
  }

  /** Decides every trace whose wait is over; returns the sampled ones. */
  tick(): Trace[] {
    const due = this.clock.now() - this.since - this.config.decision_wait;
    const out: Trace[] = [];
    this.decideWhile((h) => h.arrival <= due, out);
    this.report();
    return out;
  }

  /** Input completed: decide (or drop) everything still waiting. */
  flush(): Trace[] {
    if (!this.config.drop_pending_traces_on_shutdown) {
      const out: Trace[] = [];
      this.decideWhile(() => true, out);
      this.report();
      return out;
    }
    let n = 0;
    for (const held of this.pending.drain()) if (!held.done) n += held.trace.spans.length;
    if (n) this.telemetry.dropped(n, 'shutdown');
    return [];
  }

  /** Decides the waiting traces in arrival order while `isDue`; sampled ones go to `out`. */
  private decideWhile(isDue: (h: Held) => boolean, out: Trace[]): void {
    while (this.pending.size > 0) {
      const held = this.pending.peek()!;
      // a trace pushed out of num_traces before its decision is skipped
      if (!held.done) {
        if (!isDue(held)) break;
        this.traces.decide(held, this.decide(held.trace.traceId, held.trace, out));
      }
      this.pending.shift();
    }
  }

  /** The policies vote on `trace`; a sampled trace goes to `out`. Returns the decision. */
  private decide(id: string, trace: Trace, out: Trace[]): Decision {
    let seen = 0;
    for (let i = 0; i < this.policies.length; i++) {
      let d: Decision;
      try {
        d = this.policies[i].evaluator.evaluate(trace);
      } catch {
        d = Decision.Error;
      }
      seen |= 1 << d;
      this.votes[i * DECISIONS + d]++;
      if (d === Decision.Dropped) break;
      if (this.config.sample_on_first_match && d === Decision.Sampled) break;
    }
    const d = finalDecisionOf(seen);
    this.finals[d]++;
    if (d === Decision.Sampled) {
      out.push(trace);
      this.sampledCache?.set(id, true);
    } else {
      if (d === Decision.Dropped) this.droppedSpans += trace.spans.length;
      else this.notSampledSpans += trace.spans.length;
      this.notSampledCache?.set(id, true);
    }
    return d;
  }

  /** Counts the decisions and votes since the last report. */
  private report(): void {
    const { finals, votes } = this;
    for (let d = 0; d < DECISIONS; d++) {
      if (!finals[d]) continue;
      this.count.decisions(finals[d], { decision: DECISION_NAMES[d] });
      finals[d] = 0;
    }
    for (let i = 0; i < this.policies.length; i++) {
      for (let d = 0; d < DECISIONS; d++) {
        const n = votes[i * DECISIONS + d];
        if (!n) continue;
        this.count.policy(n, { policy: this.policies[i].name, decision: DECISION_NAMES[d] ?? 'unspecified' });
        votes[i * DECISIONS + d] = 0;
      }
    }
    if (this.notSampledSpans) this.telemetry.dropped(this.notSampledSpans, 'not_sampled');
    if (this.droppedSpans) this.telemetry.dropped(this.droppedSpans, 'dropped_by_policy');
    this.notSampledSpans = this.droppedSpans = 0;
  }
}
