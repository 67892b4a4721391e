// A small controller built with @bindery/runtime: ConfigMaps labelled
// `bindery.dev/digest=true` get a sha256 digest of their data in an annotation, so
// that anything that copies it (a pod template, a CI check) changes when the data does.
// docs/guide.md walks through this file.

import { createHash } from 'node:crypto';
import { isConflict } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { Controller, ResourceReconciler, SyncReconciler } from '@bindery/runtime';

export const configMapType = { apiVersion: 'v1', kind: 'ConfigMap' };

/** Opt-in: only ConfigMaps with this label set to `true` get a digest. */
export const digestLabel = 'bindery.dev/digest';
/** Where the digest goes: `sha256:<64 hex digits>`. */
export const digestAnnotation = 'bindery.dev/data-digest';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/**
 * The digest of a ConfigMap's `data` and `binaryData`. Keys are sorted so that
 * the digest does not depend on the order the API server returns them in, and
 * the two maps are hashed apart so that moving a key from one to the other
 * changes it.
 */
export function digestOf(configMap: ConfigMap): string {
  const sorted = (map: Record<string, string> | undefined): Array<[string, string]> =>
    Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify([sorted(configMap.data), sorted(configMap.binaryData)]);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/** Keeps the annotation equal to the digest while the label is on, and removes it when the label goes. */
export const syncDigest = new SyncReconciler<ConfigMap>({
  name: 'SyncDigest',
  async sync(ctx, configMap) {
    const wanted = configMap.metadata.labels?.[digestLabel] === 'true' ? digestOf(configMap) : undefined;
    const current = configMap.metadata.annotations?.[digestAnnotation];
    if (current === wanted) return;

    const ref = {
      ...configMapType,
      namespace: configMap.metadata.namespace ?? '',
      name: configMap.metadata.name ?? '',
    };
    // A merge patch touches only our annotation (null deletes it). The
    // resourceVersion makes it conditional: the digest was computed from this
    // version of the data, so it must not land on a newer one.
    const patch = {
      metadata: {
        resourceVersion: configMap.metadata.resourceVersion,
        annotations: { [digestAnnotation]: wanted ?? null },
      },
    };
    try {
      await ctx.config.client.patch(ref, patch, { type: 'merge', signal: ctx.signal });
    } catch (err) {
      // Our copy (from the informer cache) is stale; the next reconcile reads the newer one.
      if (isConflict(err)) return { requeue: true };
      ctx.config.recorder.event(configMap, {
        type: 'Warning',
        reason: 'DigestFailed',
        note: `Failed to write annotation ${digestAnnotation}: ${(err as Error).message}`,
      });
      throw err;
    }
    ctx.config.recorder.event(
      configMap,
      wanted
        ? { type: 'Normal', reason: 'DigestUpdated', note: `Data digest is ${wanted}` }
        : { type: 'Normal', reason: 'DigestRemoved', note: `Label ${digestLabel}=true is gone` },
    );
  },
});

/** Reads the ConfigMap of each request (from the cache) and runs `syncDigest` on a copy of it. */
export function digestReconciler(): ResourceReconciler<ConfigMap> {
  return new ResourceReconciler<ConfigMap>({
    name: 'ConfigMapDigest',
    type: configMapType,
    reconciler: syncDigest,
    // A ConfigMap has no status: this reconciler only patches metadata.
    skipStatusUpdate: true,
  });
}

export interface DigestControllerOptions {
  /** Reconciles at once. Default 1. */
  workers?: number;
}

/** The controller: every ConfigMap event enqueues that ConfigMap's key. */
export function digestController(options: DigestControllerOptions = {}): Controller {
  return new Controller({
    name: 'configmap-digest',
    for: configMapType,
    reconciler: digestReconciler(),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
  });
}
