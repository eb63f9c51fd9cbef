import { Decision, type PolicyEvaluator, type TraceData } from './policy';

export interface ProbabilisticConfig {
  hash_salt: string;
  sampling_percentage: number;
}

const DEFAULT_SALT = 'default-hash-seed';
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/**
 * FNV-1a 64 over the salt then the 16 trace-id bytes, compared with
 * percentage × 2^64: the Collector's hash, so a Collector and espan with the
 * same salt keep the same traces.
 */
export function hashTraceId(salt: string, traceIdHex: string): bigint {
  let h = FNV_OFFSET;
  const saltBytes = Buffer.from(salt, 'utf8');
  for (const b of saltBytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK64;
  for (let i = 0; i + 1 < traceIdHex.length; i += 2) {
    h = ((h ^ BigInt(parseInt(traceIdHex.slice(i, i + 2), 16))) * FNV_PRIME) & MASK64;
  }
  return h;
}

export function thresholdFor(percentage: number): bigint {
  if (percentage <= 0) return -1n;
  if (percentage >= 100) return MASK64;
  // 2^64 does not fit a double exactly; scale in parts per 10^12 to keep precision
  return (MASK64 * BigInt(Math.round(percentage * 1e10))) / 1_000_000_000_000n;
}

export class Probabilistic implements PolicyEvaluator {
  private readonly threshold: bigint;
  private readonly salt: string;

  constructor(config: ProbabilisticConfig) {
    this.threshold = thresholdFor(config.sampling_percentage);
    this.salt = config.hash_salt || DEFAULT_SALT;
  }

  evaluate(trace: TraceData): Decision {
    return hashTraceId(this.salt, trace.traceId) <= this.threshold ? Decision.Sampled : Decision.NotSampled;
  }
}
