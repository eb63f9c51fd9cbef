/**
 * Items in the order they were last used, linked through two fields of their
 * own (`older`, `newer`): moving one to the newest end costs two pointer
 * updates. A Map keeps insertion order too, but moving a key last by deleting
 * and adding it again costs V8 time in proportion to the Map's size.
 */
export interface RecencyLinks<T> {
  older: T | undefined;
  newer: T | undefined;
}

export class RecencyList<T extends RecencyLinks<T>> {
  private first: T | undefined;
  private last: T | undefined;

  /** the least recently used item */
  get oldest(): T | undefined {
    return this.first;
  }

  get newest(): T | undefined {
    return this.last;
  }

  /** Puts an item that is not in the list at the newest end. */
  append(item: T): void {
    item.older = this.last;
    item.newer = undefined;
    if (this.last) this.last.newer = item;
    else this.first = item;
    this.last = item;
  }

  /** Takes an item out of the list. */
  unlink(item: T): void {
    if (item.older) item.older.newer = item.newer;
    else this.first = item.newer;
    if (item.newer) item.newer.older = item.older;
    else this.last = item.older;
    item.older = undefined;
    item.newer = undefined;
  }

  /** Moves an item of the list to the newest end. */
  touch(item: T): void {
    if (item === this.last) return;
    this.unlink(item);
    this.append(item);
  }
}
