/**
 * A span's attributes, put key by key and made at the end as one object
 * literal of exactly their keys. Adding keys to an object one at a time
 * (the optional ones after a literal of the fixed ones) moves them to a
 * backing store regrown three slots at a time, and with the spans of six
 * protocols each adding its own keys those stores go through slow
 * megamorphic lookups: here a put is an array store and a step in a tree of
 * key sequences, and the object is made once, its properties inside it
 * (one allocation, no backing store, one hidden class per key sequence).
 * Keys that every span of a kind puts together (KeyRun) take one step for
 * all of them.
 *
 * Keys are the span builder's own constants, compared by identity first.
 */
import { compileAttributesLiteral, type AttributesLiteral } from '../../core/attribute-literal';
import type { AttributeValue, Attributes } from '../../core/signals';

/** Key sequences given a literal of their own; past it (never on real traffic), objects are built the plain way. */
const MAX_SHAPES = 1024;
let shapes = 0;

/** Keys that spans put together, always in this order (the link keys every span has, a connection's endpoints): a builder steps over them at once. */
export class KeyRun {
  constructor(readonly keys: readonly string[]) {}
}

/** One key sequence: the keys put so far, and the sequences one key longer. */
class Shape {
  private readonly longer = new Map<string, Shape>();
  /** the last step taken: spans of one kind put the same keys in the same order */
  private lastKey: string | undefined;
  private lastShape: Shape | undefined;
  /** the same for the last run of keys */
  private lastRun: KeyRun | undefined;
  private lastRunShape: Shape | undefined;
  private literal: AttributesLiteral | undefined;

  constructor(readonly keys: readonly string[]) {}

  then(key: string): Shape {
    if (key === this.lastKey) return this.lastShape!;
    let next = this.longer.get(key);
    if (next === undefined) this.longer.set(key, (next = new Shape([...this.keys, key])));
    this.lastKey = key;
    this.lastShape = next;
    return next;
  }

  thenRun(run: KeyRun): Shape {
    if (run === this.lastRun) return this.lastRunShape!;
    let next: Shape = this;
    for (const key of run.keys) next = next.then(key);
    this.lastRun = run;
    this.lastRunShape = next;
    return next;
  }

  make(values: readonly AttributeValue[]): Attributes {
    if (this.literal === undefined) this.literal = shapes < MAX_SHAPES ? (shapes++, compileLiteral(this.keys)) : plainLiteral(this.keys);
    return this.literal(values);
  }
}

function compileLiteral(keys: readonly string[]): AttributesLiteral {
  return compileAttributesLiteral(keys) ?? plainLiteral(keys);
}

/**
 * Made apart from make(): a closure written inside a method makes V8 allocate
 * the method's context (40 bytes, for `this`) on every call, closure or not.
 */
function plainLiteral(keys: readonly string[]): AttributesLiteral {
  return (values) => plainObject(keys, values);
}

function plainObject(keys: readonly string[], values: readonly AttributeValue[]): Attributes {
  const a: Attributes = {};
  for (let i = 0; i < keys.length; i++) a[keys[i]] = values[i];
  return a;
}

const EMPTY = new Shape([]);

/**
 * Spans a values array serves before the builder takes a new one. The
 * builder lives long and is soon in V8's old generation, with its array: a
 * value put in an old array that is young itself (a sequence number, a
 * string the parser made) has its slot recorded by the write barrier, ~5 %
 * of span_builder's time when the array was kept for good. A new array is
 * young until the next scavenge, megabytes of allocation later: its puts
 * cost no recording, for one array (~200 bytes) per this many spans.
 */
const SPANS_PER_VALUES_ARRAY = 256;

/**
 * Collects one span's attributes at a time: start(), put every key (each
 * once), then make() the object. Keys keep the order they were put in.
 */
export class AttributesBuilder {
  private shape = EMPTY;
  private values: AttributeValue[] = [];
  private n = 0;
  /** spans started on `values` */
  private served = 0;

  /** Forgets what was put before: a span whose building threw leaves nothing in the next one. */
  start(): this {
    this.shape = EMPTY;
    this.n = 0;
    if (++this.served === SPANS_PER_VALUES_ARRAY) {
      this.served = 0;
      this.values = new Array<AttributeValue>(this.values.length);
    }
    return this;
  }

  put(key: string, value: AttributeValue): void {
    this.shape = this.shape.then(key);
    this.values[this.n++] = value;
  }

  /** Puts the run's keys, one step; their values follow, as many and in the same order, by value(). */
  putRun(run: KeyRun): void {
    this.shape = this.shape.thenRun(run);
  }

  value(value: AttributeValue): void {
    this.values[this.n++] = value;
  }

  /** The attributes put since start(); throws if a run was given more or fewer values than keys. */
  make(): Attributes {
    if (this.n !== this.shape.keys.length) throw new Error(`${this.n} attribute values for ${this.shape.keys.length} keys`);
    return this.shape.make(this.values);
  }
}
