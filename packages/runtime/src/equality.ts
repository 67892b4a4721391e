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

/** A deep copy; the value must be structured-cloneable (JSON always is). */
export function deepCopy<T>(value: T): T {
  return structuredClone(value);
}
