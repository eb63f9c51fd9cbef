import { setting, type ConfigOf } from '../../../core/config/schema';
import { Decision, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const probabilisticBlock = {
  hash_salt: setting.string('', 'salt of the trace id hash; "" is the Collector\'s default salt'),
  sampling_percentage: setting.number(0, 'percentage of traces sampled, 0 to 100'),
};

export type ProbabilisticConfig = ConfigOf<typeof probabilisticBlock>;

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
  return hashFromSalted(saltedState(salt), traceIdHex);
}

/** The bigint form: the definition, and the path for ids that are not plain hex (parseInt's leniency decides). */
export function hashTraceIdBigint(salt: string, traceIdHex: string): bigint {
  let h = FNV_OFFSET;
  const saltBytes = Buffer.from(salt, 'utf8');
  for (const b of saltBytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK64;
  for (let i = 0; i + 1 < traceIdHex.length; i += 2) {
    h = ((h ^ BigInt(parseInt(traceIdHex.slice(i, i + 2), 16))) * FNV_PRIME) & MASK64;
  }
  return h;
}

/*
 * The same hash in four 16-bit limbs of doubles: a bigint per byte allocated
 * ~50 heap numbers per trace, more than the rest of the policy. The prime is
 * 2^40 + 0x1b3, so a product limb is limb × 0x1b3 plus, two limbs up, limb << 8.
 */
const P_LOW = 0x1b3;
const limbs = new Float64Array(4);
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

function fnvStep(byte: number): void {
  const h0 = limbs[0] ^ byte;
  const h1 = limbs[1];
  const h2 = limbs[2];
  const h3 = limbs[3];
  let r0 = h0 * P_LOW;
  let r1 = h1 * P_LOW + (r0 >>> 16);
  let r2 = h2 * P_LOW + h0 * 256 + (r1 >>> 16);
  const r3 = h3 * P_LOW + h1 * 256 + (r2 >>> 16);
  r0 &= 0xffff;
  r1 &= 0xffff;
  r2 &= 0xffff;
  limbs[0] = r0;
  limbs[1] = r1;
  limbs[2] = r2;
  limbs[3] = r3 & 0xffff;
}

/** The four limbs after the salt: the same for every trace, computed once per policy. */
function saltedState(salt: string): Float64Array {
  limbs[0] = 0x2325;
  limbs[1] = 0x8422;
  limbs[2] = 0x9ce4;
  limbs[3] = 0xcbf2;
  for (const b of Buffer.from(salt, 'utf8')) fnvStep(b);
  return limbs.slice();
}

function hashFromSalted(salted: Float64Array, traceIdHex: string): bigint {
  limbs.set(salted);
  const n = traceIdHex.length;
  for (let i = 0; i + 1 < n; i += 2) {
    const a = traceIdHex.charCodeAt(i);
    const b = traceIdHex.charCodeAt(i + 1);
    const hi = a < 128 ? HEX[a] : -1;
    const lo = b < 128 ? HEX[b] : -1;
    if (hi < 0 || lo < 0) return hashFromSaltedSlow(salted, traceIdHex);
    fnvStep((hi << 4) | lo);
  }
  return (BigInt(limbs[3] * 65536 + limbs[2]) << 32n) | BigInt(limbs[1] * 65536 + limbs[0]);
}

function hashFromSaltedSlow(salted: Float64Array, traceIdHex: string): bigint {
  let h = (BigInt(salted[3] * 65536 + salted[2]) << 32n) | BigInt(salted[1] * 65536 + salted[0]);
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
  private readonly salted: Float64Array;

  constructor(config: ProbabilisticConfig) {
    this.threshold = thresholdFor(config.sampling_percentage);
    this.salted = saltedState(config.hash_salt || DEFAULT_SALT);
  }

  evaluate(trace: TraceData): Decision {
    return hashFromSalted(this.salted, trace.traceId) <= this.threshold ? Decision.Sampled : Decision.NotSampled;
  }
}
