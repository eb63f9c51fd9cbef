/**
 * Functions compiled per key sequence that find where a list of attributes
 * differs from the list written before with the same keys
 * (previous-attributes.ts). A loop over the keys compares values of every
 * type at one `!==`, which V8 compiles to a generic comparison (a builtin
 * call per value: ~4 ns, ~90 ns for an nginx span's 22 attributes); a
 * function with a comparison per key learns each key's type (a port is
 * always a number, a method always the same string) and compares in a few
 * instructions, and reads each value by its name rather than through for-in.
 * The keys are still checked by a for-in (without reading values): the
 * values read by name are only those of this key sequence when the object
 * has exactly these keys in this order.
 */
import type { Attributes } from '../signals';

/**
 * Records in changed/changedValues the places of `attrs` whose value is not
 * `===` the one held in `values` at that place, and returns how many; -1
 * when attrs' keys are not the sequence the function was compiled for
 * (`keys` holds them, in order).
 */
export type ChangeFinder = (
  attrs: Attributes,
  keys: readonly string[],
  values: readonly unknown[],
  changed: Int32Array,
  changedValues: unknown[],
) => number;

/** Key sequences compiled, at most: past this, lists are compared by the generic loop. */
const MAX_FINDERS = 256;

/**
 * A finder for `keys`, or undefined when a key cannot be read by name
 * ('__proto__' reads the prototype) or code cannot be generated.
 */
function compile(keys: readonly string[]): ChangeFinder | undefined {
  if (keys.includes('__proto__')) return undefined;
  const n = keys.length;
  let body = `let i = 0;
for (const key in attrs) {
  if (i === ${n} || keys[i] !== key) return -1;
  i++;
}
if (i !== ${n}) return -1;
let changes = 0;
let v;
`;
  // JSON string literals are JavaScript string literals: key text cannot escape into code
  for (let i = 0; i < n; i++) {
    body += `v = attrs[${JSON.stringify(keys[i])}];
if (v !== values[${i}]) { changed[changes] = ${i}; changedValues[changes++] = v; }
`;
  }
  body += 'return changes;';
  try {
    return new Function('attrs', 'keys', 'values', 'changed', 'changedValues', body) as ChangeFinder;
  } catch {
    // node --disallow-code-generation-from-strings: lists are compared by the generic loop
    return undefined;
  }
}

/** Finders by key sequence, shared by every list with those keys: each is compiled (and optimized by V8) once. */
export class ChangeFinders {
  private readonly byKeys = new Map<string, ChangeFinder | undefined>();

  /** The finder for the first `count` of `keys`, or undefined when there is none (and will be none). */
  get(keys: readonly string[], count: number): ChangeFinder | undefined {
    const sequence = keys.slice(0, count);
    const id = JSON.stringify(sequence);
    if (this.byKeys.has(id)) return this.byKeys.get(id);
    if (this.byKeys.size >= MAX_FINDERS) return undefined;
    const finder = compile(sequence);
    this.byKeys.set(id, finder);
    return finder;
  }
}
