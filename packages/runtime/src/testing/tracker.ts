// A tracker that records what a reconcile tracks, for ExpectTracks, and still
// answers `getObservers` the way the real one does.

import type { Clock, KubeObject, ObjectRef } from '@bindery/kube';
import type { TrackReference, Tracker as TrackerContract } from '../config.ts';
import type { Request } from '../reconciler.ts';
import { Tracker } from '../tracker.ts';

/** One `trackReference`/`trackObject` call: `by` depends on `tracked`. */
export interface TrackRequest {
  tracked: TrackReference;
  by: ObjectRef;
}

/** A `Tracker` that keeps every call in `tracks`, in order, and delegates to the real tracker. */
export class FakeTracker implements TrackerContract {
  readonly tracks: TrackRequest[] = [];
  readonly #tracker: Tracker;

  constructor(options: { clock: Pick<Clock, 'now'> }) {
    this.#tracker = new Tracker({ clock: options.clock });
  }

  trackReference(ref: TrackReference, by: ObjectRef): void {
    this.tracks.push(newTrackRequest(ref, by));
    this.#tracker.trackReference(ref, by);
  }

  trackObject(obj: KubeObject, by: ObjectRef): void {
    this.tracks.push(newTrackRequest(obj, by));
    this.#tracker.trackObject(obj, by);
  }

  getObservers(obj: KubeObject): Request[] {
    return this.#tracker.getObservers(obj);
  }
}

/**
 * What tracking `tracked` by `by` records (reconciler.io's `NewTrackRequest`):
 * objects become references by apiVersion, kind, namespace and name.
 */
export function newTrackRequest(
  tracked: KubeObject | TrackReference,
  by: KubeObject | ObjectRef,
): TrackRequest {
  return { tracked: toReference(tracked), by: toObjectRef(by) };
}

function toReference(t: KubeObject | TrackReference): TrackReference {
  if (!('metadata' in t)) {
    const { apiVersion, kind, namespace, name, selector } = t;
    return {
      apiVersion,
      kind,
      ...(namespace ? { namespace } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(selector !== undefined ? { selector } : {}),
    };
  }
  const ref = toObjectRef(t);
  return ref;
}

function toObjectRef(o: KubeObject | ObjectRef): ObjectRef {
  if (!('metadata' in o)) {
    return {
      apiVersion: o.apiVersion,
      kind: o.kind,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      name: o.name,
    };
  }
  return {
    apiVersion: o.apiVersion ?? '',
    kind: o.kind ?? '',
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    name: o.metadata.name ?? '',
  };
}
