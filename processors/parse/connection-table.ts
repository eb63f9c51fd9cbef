/**
 * The parse engine's live connections by id. A Map from id to the connection
 * itself keeps a freed connection reachable for a while: V8 may hold on to a
 * deleted Map value until its next full collection (in a table the Map left
 * behind when it rehashed), and every scavenge until then copies the
 * connection and all it refers to. So the Map holds slot numbers, which
 * refer to nothing, and the connections sit in an array whose slot is
 * emptied (and reused) when one is freed.
 */
export interface Slotted {
  readonly id: string;
  /** its index in the table's array while it is in the table */
  slot: number;
}

export class ConnectionTable<T extends Slotted> {
  private readonly slotOf = new Map<string, number>();
  private readonly slots: (T | undefined)[] = [];
  private readonly freeSlots: number[] = [];

  get size(): number {
    return this.slotOf.size;
  }

  get(id: string): T | undefined {
    const i = this.slotOf.get(id);
    return i === undefined ? undefined : this.slots[i];
  }

  /** Adds `item`, which no item in the table shares an id with. */
  add(item: T): void {
    const i = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.slots.length;
    item.slot = i;
    this.slots[i] = item;
    this.slotOf.set(item.id, i);
  }

  /** Removes `item`, which is in the table. */
  delete(item: T): void {
    this.slotOf.delete(item.id);
    this.slots[item.slot] = undefined;
    this.freeSlots.push(item.slot);
  }
}
