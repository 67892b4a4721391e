// Finalizers on the reconciled resource, written with a JSON merge patch that
// carries `resourceVersion`: the patch is optimistic, so a finalizer list read
// from a stale cache fails with 409 instead of dropping someone else's finalizer.

import { refOf } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext } from './reconciler.ts';

/** Adds `finalizer` to the resource if it is missing. */
export function addFinalizer(ctx: ReconcileContext, resource: KubeObject, finalizer: string): Promise<void> {
  return ensureFinalizer(ctx, resource, finalizer, true);
}

/** Removes `finalizer` from the resource if it is present. */
export function clearFinalizer(
  ctx: ReconcileContext,
  resource: KubeObject,
  finalizer: string,
): Promise<void> {
  return ensureFinalizer(ctx, resource, finalizer, false);
}

export function hasFinalizer(resource: KubeObject, finalizer: string): boolean {
  return resource.metadata.finalizers?.includes(finalizer) ?? false;
}

async function ensureFinalizer(
  ctx: ReconcileContext,
  resource: KubeObject,
  finalizer: string,
  add: boolean,
): Promise<void> {
  if (finalizer === '' || hasFinalizer(resource, finalizer) === add) return;
  // The reconciled resource belongs to the config the reconcile started with,
  // not to whatever a WithConfig swapped in.
  const config = ctx.originalConfig;
  const current = resource.metadata.finalizers ?? [];
  const finalizers = add ? [...current, finalizer] : current.filter((f) => f !== finalizer);
  const ref = refOf(resource, ctx.resourceType);
  const patch = { metadata: { finalizers, resourceVersion: resource.metadata.resourceVersion } };
  ctx.log.info({ finalizer }, add ? 'adding finalizer' : 'removing finalizer');
  let patched: KubeObject;
  try {
    patched = await config.client.patch(ref, patch, { type: 'merge', signal: ctx.signal });
  } catch (err) {
    ctx.log.error({ err, finalizer }, 'unable to patch finalizers');
    config.recorder.event(resource, {
      type: 'Warning',
      reason: 'FinalizerPatchFailed',
      note: `Failed to patch finalizer ${JSON.stringify(finalizer)}: ${(err as Error).message}`,
    });
    throw err;
  }
  config.recorder.event(resource, {
    type: 'Normal',
    reason: 'FinalizerPatched',
    note: `Patched finalizer ${JSON.stringify(finalizer)}`,
  });
  // Later writes in this reconcile (the status update) must carry the new version.
  const m = patched.metadata;
  if (m.finalizers && m.finalizers.length > 0) resource.metadata.finalizers = [...m.finalizers];
  else delete resource.metadata.finalizers;
  if (m.resourceVersion !== undefined) resource.metadata.resourceVersion = m.resourceVersion;
  if (m.generation !== undefined) resource.metadata.generation = m.generation;
}
