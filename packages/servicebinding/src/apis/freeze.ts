// Module-level constants shared by every caller (the shipped mappings) are frozen, so that no
// caller can change what the next one, or the manifest generator, sees.

/** Freezes `value` and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
