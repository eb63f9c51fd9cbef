/**
 * Records on their way to worker threads: each shard's records as raw
 * network_data bytes in one ArrayBuffer (transferred, not cloned), and read
 * back on the worker in place with RecordView. Records are sharded by pid, so
 * every record of a process, and of each connection it owns, reaches the same
 * worker in the order the receiver gave them.
 */
import { encodedSize, encodeRecord, DecodeCache, META_SIZE, RecordView, recordBatch } from '../records/network-data';
import { fmix32 } from '../hash';
import type { HostInfo, NetworkRecord } from '../signals';

/** One shard's part of a batch, as posted to its worker. */
export interface RecordsPart {
  /** the records' network_data bytes, back to back */
  bytes: ArrayBuffer;
  /** where each record ends in `bytes` (the first starts at 0) */
  ends: Uint32Array;
  /** the hosts of the records, one per run of records with the same host */
  hosts: HostInfo[];
  /** index of each run's first record */
  hostStarts: number[];
}

/** The shard of a process: pids are dense and sequential, so spread them first. */
export function shardOf(pid: number, shards: number): number {
  return (fmix32(pid) >>> 0) % shards;
}

/** Bytes a record takes on the way: a record read in place is not asked for its payload view. */
function sizeOf(r: NetworkRecord): number {
  return r instanceof RecordView ? META_SIZE + r.actSize : encodedSize(r);
}

/** Splits a batch into one part per shard (empty parts included); the parts' buffers can be transferred. */
export function splitRecords(records: readonly NetworkRecord[], shards: number): RecordsPart[] {
  const shardOfRecord = new Uint16Array(records.length);
  const sizes = new Array<number>(shards).fill(0);
  const counts = new Array<number>(shards).fill(0);
  for (let i = 0; i < records.length; i++) {
    const s = shardOf(records[i].pid, shards);
    shardOfRecord[i] = s;
    sizes[s] += sizeOf(records[i]);
    counts[s]++;
  }
  const parts: RecordsPart[] = [];
  const bufs: Buffer[] = [];
  for (let s = 0; s < shards; s++) {
    const bytes = new ArrayBuffer(sizes[s]);
    bufs.push(Buffer.from(bytes));
    parts.push({ bytes, ends: new Uint32Array(counts[s]), hosts: [], hostStarts: [] });
  }
  const written = new Array<number>(shards).fill(0);
  const n = new Array<number>(shards).fill(0);
  for (let i = 0; i < records.length; i++) {
    const s = shardOfRecord[i];
    const r = records[i];
    const part = parts[s];
    if (part.hosts[part.hosts.length - 1] !== r.host) {
      part.hosts.push(r.host);
      part.hostStarts.push(n[s]);
    }
    // A record read in place is copied as it lies; a decoded one is encoded again.
    if (r instanceof RecordView) {
      const bytes = r.bytes;
      bufs[s].set(bytes, written[s]);
      written[s] += bytes.length;
    } else {
      written[s] += encodeRecord(r, bufs[s], written[s]);
    }
    part.ends[n[s]++] = written[s];
  }
  return parts;
}

/**
 * Reads the parts a worker receives. Hosts arrive as copies: one object per
 * distinct host is kept, so records of one host share it as on the main thread.
 */
export class RecordsReader {
  private readonly hosts = new Map<string, HostInfo>();
  private readonly cache = new DecodeCache();

  read(part: RecordsPart): NetworkRecord[] {
    const buf = Buffer.from(part.bytes);
    const out: NetworkRecord[] = new Array(part.ends.length);
    let start = 0;
    for (let h = 0; h < part.hosts.length; h++) {
      const batch = recordBatch(buf, this.host(part.hosts[h]), this.cache);
      const to = h + 1 < part.hosts.length ? part.hostStarts[h + 1] : part.ends.length;
      for (let i = part.hostStarts[h]; i < to; i++) {
        out[i] = new RecordView(batch, start);
        start = part.ends[i];
      }
    }
    return out;
  }

  private host(h: HostInfo): HostInfo {
    const key = `${h.hostId}\u0000${h.hostName}\u0000${h.bootTimeUnixNano}`;
    let kept = this.hosts.get(key);
    if (!kept) this.hosts.set(key, (kept = { hostId: h.hostId, hostName: h.hostName, bootTimeUnixNano: h.bootTimeUnixNano }));
    return kept;
  }
}
