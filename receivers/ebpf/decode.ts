/** Turns one batch from the addon (bytes plus record offsets) into records. */
import { DecodeCache, RecordView, recordBatch, recordError } from '../../core/records/network-data';
import type { HostInfo, NetworkRecord } from '../../core/signals';

export interface DecodedBatch {
  records: NetworkRecord[];
  /** records that could not be decoded, by the first words of the reason */
  failures: Map<string, number>;
}

/**
 * `offsets` has one entry per record plus the end of the last one. Records are
 * read in place (RecordView): nothing is decoded or copied until a field is asked for.
 */
export function decodeBatch(buf: Buffer, offsets: Uint32Array, host: HostInfo, cache = new DecodeCache()): DecodedBatch {
  const batch = recordBatch(buf, host, cache);
  const records: NetworkRecord[] = new Array(Math.max(0, offsets.length - 1));
  const failures = new Map<string, number>();
  let n = 0;
  for (let i = 0; i + 1 < offsets.length; i++) {
    const at = offsets[i];
    const length = offsets[i + 1] - at;
    const error = length >= 0 && at + length <= buf.length ? recordError(batch.dv, at, length) : 'offsets outside the batch';
    if (error) {
      const reason = failureReason(error);
      failures.set(reason, (failures.get(reason) ?? 0) + 1);
      continue;
    }
    records[n++] = new RecordView(batch, at);
  }
  records.length = n;
  return { records, failures };
}

/** A low-cardinality label for a decode error text. */
function failureReason(text: string): string {
  if (text.startsWith('record of')) return 'short_record';
  if (text.startsWith('act_size')) return 'bad_act_size';
  return 'bad_offsets';
}
