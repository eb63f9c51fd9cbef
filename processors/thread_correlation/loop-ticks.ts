/**
 * The reads of an event loop's ticks that ended messages, by tick tag.
 *
 * The probe tags each record of a thread with its tick (bpf/espan.bpf.c,
 * event-loop ticks): a generation bumped at each return from a wait
 * (epoll_wait, poll, select…) and the reads the thread made since, its own
 * included, until libuv's poll phase ends (then 15). A read and a later write
 * with equal tags had no wait and no other read between them, and the write
 * was made in the poll phase; a count of 1 says the read was the first.
 * timeline.ts links a call written under such a tag to the request whose
 * message, or whose linked call's response, ended in that read (the rule and
 * its assumptions: README, "Event loops").
 */

/** The low 4 bits of a tag: the reads of the tick so far (15: 15 or more, or the poll phase is over); bit 4: the ends of the thread's poll phases are seen. */
const TAG_READS = 15;
const TAG_PHASES = 16;

/** True when the tagged call was made in a poll phase (libuv's, seen) with exactly one read before it, or is that read. */
export function firstReadOfTick(tag: number): boolean {
  return (tag & (TAG_PHASES | TAG_READS)) === (TAG_PHASES | 1);
}

interface TickRead {
  /** end (ns) of the read syscall: the messages that ended in one read share it */
  at: number;
  /** messages seen ending in this read */
  messages: number;
  /** the request scope (thread trace id) of those of them known to belong to one; null once they disagree */
  owner: string | null | undefined;
  /** how many of the messages belong to `owner` */
  owned: number;
}

export class TickReads {
  private readonly byTag = new Map<number, TickRead>();

  get size(): number {
    return this.byTag.size;
  }

  /**
   * A message ended in the read tagged `tag` that ended at `at`: a server's
   * request (owner: its own scope) or a decided client call's response (owner:
   * the scope it was linked to; undefined when not linked).
   */
  ended(tag: number, at: number, owner: string | undefined): void {
    let r = this.byTag.get(tag);
    // Another read with this tag: the 11-bit generation came round again.
    if (!r || r.at !== at) this.byTag.set(tag, (r = { at, messages: 0, owner: undefined, owned: 0 }));
    r.messages++;
    if (owner === undefined) return;
    if (r.owner === undefined) r.owner = owner;
    if (r.owner === owner) r.owned++;
    else r.owner = null;
  }

  /** Whether every message known to end in the read tagged `tag`, before `before` and not before `from`, is `owner`'s. */
  ownedBy(tag: number, owner: string, from: number, before: number): boolean {
    const r = this.byTag.get(tag);
    return r !== undefined && r.at >= from && r.at <= before && r.owner === owner && r.owned === r.messages;
  }

  /** Forgets the reads that ended before `t`; returns how many are left. */
  dropBefore(t: number): number {
    for (const [tag, r] of this.byTag) if (r.at < t) this.byTag.delete(tag);
    return this.byTag.size;
  }
}
