/**
 * Every component espan knows, one line each: adding a receiver, processor,
 * exporter or extension is its folder plus one line here.
 */
import { Registry, type AnyFactory } from './core/component';

export const factories: AnyFactory[] = [
];

export function defaultRegistry(): Registry {
  return new Registry(factories);
}
