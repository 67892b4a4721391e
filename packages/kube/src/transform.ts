// Transforms for informer caches (controller-runtime's `cache.TransformStripManagedFields` and
// friends): a cache that keeps only what its readers use holds less memory. Each returns a new
// object rather than deleting in place, which would turn V8's fast properties into a dictionary.

import type { TransformFunc } from './informer.ts';
import type { KubeObject } from './object.ts';
import type { StringInterner } from './string-interner.ts';

/** Written by `kubectl apply` (client-side): a full copy of the applied object, Secret data included. */
export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Drops `metadata.managedFields`, often the largest part of an object's metadata. Safe for objects
 * the controller writes back whole: an update without managedFields keeps the stored ones.
 */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * Drops the `kubectl.kubernetes.io/last-applied-configuration` annotation. Only for objects the
 * controller never writes back whole: an update without it would remove it from the stored object.
 */
export function stripLastAppliedAnnotation<T extends KubeObject>(obj: T): T {
  const annotations = obj.metadata.annotations;
  if (annotations?.[lastAppliedAnnotation] === undefined) return obj;
  const { [lastAppliedAnnotation]: _, ...rest } = annotations;
  return { ...obj, metadata: { ...obj.metadata, annotations: rest } };
}

/** Drops `.status`: for caches whose readers never look at it and write it only through `/status`. */
export function stripStatus<T extends KubeObject>(obj: T): T {
  if (obj['status'] === undefined) return obj;
  const { status: _, ...rest } = obj;
  return rest as T;
}

/** Values unique to each object: interning them would only churn the table. */
const uniqueKeys = new Set(['uid', 'resourceVersion']);
/** Deeper subtrees are left as they are: the walk is bounded whatever the object's shape. */
const maxInternDepth = 32;

function internIn(value: object, interner: StringInterner, depth: number): void {
  if (depth > maxInternDepth || Object.isFrozen(value)) return;
  if (Array.isArray(value)) {
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item === 'string') items[i] = interner.intern(item);
      else if (typeof item === 'object' && item !== null) internIn(item, interner, depth + 1);
    }
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (typeof item === 'string') {
      if (!uniqueKeys.has(key)) record[key] = interner.intern(item);
    } else if (typeof item === 'object' && item !== null) internIn(item, interner, depth + 1);
  }
}

/**
 * Replaces every string value with `interner`'s copy of it, so the objects of a cache share one
 * copy of each repeated value (defaulted fields, namespaces, images, annotations). Works in place:
 * each value is replaced by an equal string, which no reader can tell apart, and the object keeps
 * its shape. For the objects an informer has just parsed; frozen objects are left alone.
 */
export function internStrings(interner: StringInterner): TransformFunc {
  return (obj) => {
    internIn(obj, interner, 0);
    return obj;
  };
}

/** Applies each in turn. */
export function chainTransforms(...transforms: TransformFunc[]): TransformFunc {
  return (obj) => transforms.reduce((o, t) => t(o), obj);
}
