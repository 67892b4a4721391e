// Raw-JSON helpers. Keys are read and written as own data properties so that a key such as
// `__proto__` in a workload or a mapping path is data, never the prototype.

import type { JsonObject } from './types.ts';
import { insertionPoint } from './key-order.ts';

export { isObject } from '@bindery/kube';

export function getOwn(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function setOwn(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Sets `key`, keeping its position when present. A new key goes where the API server would
 * serialize it (see key-order.ts) rather than at the end, so projected output matches the RI
 * byte for byte; the identity of `obj` is kept because callers hold references into it.
 */
export function putKey(obj: JsonObject, key: string, value: unknown): void {
  if (Object.hasOwn(obj, key)) {
    setOwn(obj, key, value);
    return;
  }
  const keys = Object.keys(obj);
  const at = insertionPoint(key, keys);
  const tail = keys.slice(at).map((k) => [k, obj[k]] as const);
  for (const [k] of tail) delete obj[k];
  setOwn(obj, key, value);
  for (const [k, v] of tail) setOwn(obj, k, v);
}

/** Removes the items matching `pred` in place; reports whether any was removed. */
export function removeWhere<T>(list: T[], pred: (item: T) => boolean): boolean {
  const kept = list.filter((item) => !pred(item));
  if (kept.length === list.length) return false;
  list.splice(0, list.length, ...kept);
  return true;
}

/** Compares by Unicode code point, i.e. like Go compares UTF-8 strings. */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done === true || y.done === true) return (x.done === true ? 0 : 1) - (y.done === true ? 0 : 1);
    const d = (x.value.codePointAt(0) ?? 0) - (y.value.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
}
