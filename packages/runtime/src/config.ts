import type { Clock, KubeObject, ObjectRef, TypeRef } from '@bindery/kube';
import type { Logger } from 'pino';
import type { Client, Reader } from './client.ts';
import type { Request } from './reconciler.ts';

export type EventType = 'Normal' | 'Warning';

/** Records an event about an object. Never put a Secret's value in `note`. */
export interface Recorder {
  event(
    regarding: KubeObject,
    event: { type: EventType; reason: string; note: string; action?: string },
  ): void;
}

/** What an object is watched by: one object by name, or every object a selector matches. */
export interface TrackReference extends TypeRef {
  namespace?: string;
  name?: string;
  /** The `?labelSelector=` form; with no `name`, every matching object is tracked. */
  selector?: string;
}

/**
 * Remembers which reconciled objects depend on which others, so a change to a
 * dependency enqueues its dependents (reconciler.io's Tracker).
 */
export interface Tracker {
  trackReference(ref: TrackReference, by: ObjectRef): void;
  trackObject(obj: KubeObject, by: ObjectRef): void;
  /** The objects that track `obj`. */
  getObservers(obj: KubeObject): Request[];
}

/**
 * Everything a reconciler needs from outside. `client` reads from the informer
 * cache and writes to the API server; `apiReader` always reads from the API
 * server (for reads that must be fresh or need no watch permission).
 */
export interface Config {
  client: Client;
  apiReader: Reader;
  recorder: Recorder;
  tracker: Tracker;
  clock: Clock;
  log: Logger;
}

export type { ObjectRef };
