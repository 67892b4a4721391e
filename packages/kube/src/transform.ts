// Transforms for informer caches (controller-runtime's `cache.TransformStripManagedFields` and
// friends): a cache that keeps only what its readers use holds less memory. Each returns a new
// object rather than deleting in place, which would turn V8's fast properties into a dictionary.

import type { TransformFunc } from './informer.ts';
import type { KubeObject } from './object.ts';

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

/** Applies each in turn. */
export function chainTransforms(...transforms: TransformFunc[]): TransformFunc {
  return (obj) => transforms.reduce((o, t) => t(o), obj);
}
