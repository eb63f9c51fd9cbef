/**
 * Attribute objects made as object literals of a known key sequence. V8 builds
 * a literal of a couple of dozen properties in one allocation with its fields
 * inside; adding them one by one to `{}` regrows a backing store and, past a
 * dozen, turns the object into a hash table that every later read pays for.
 */
import type { AttributeValue, Attributes } from './signals';

export type AttributesLiteral = (values: readonly AttributeValue[]) => Attributes;

/**
 * `(v) => ({ "k0": v[0], "k1": v[1], … })` for `keys`, or undefined when a key
 * cannot be a literal's ('__proto__' would set the prototype instead).
 */
export function compileAttributesLiteral(keys: readonly string[]): AttributesLiteral | undefined {
  if (keys.includes('__proto__')) return undefined;
  // JSON string literals are JavaScript string literals: key text cannot escape into code
  const body = keys.map((k, i) => `${JSON.stringify(k)}: v[${i}]`).join(', ');
  const literal = new Function('v', `return { ${body} };`) as AttributesLiteral;
  // A first object of strings only: V8 then keeps every field of the shape tagged, where a field that only
  // ever held numbers would box each number that is no small integer (sequence numbers, netns inodes) a
  // second time. Tagged, a field holds the number the values array boxed already, and a small one unboxed.
  literal(keys.map(() => ''));
  return literal;
}
