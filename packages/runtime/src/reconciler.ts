import type { KubeObject, TypeRef } from '@bindery/kube';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Result } from './result.ts';
import type { Stash } from './stash.ts';

/** The key a controller reconciles: an object's namespace and name. */
export interface Request {
  namespace?: string;
  name: string;
}

/** What every reconciler is handed for one reconcile. */
export interface ReconcileContext {
  config: Config;
  stash: Stash;
  /** Aborts when the manager shuts down; pass it to every request. */
  signal: AbortSignal;
  /** Bound to this reconcile (request id, resource kind, namespace, name). */
  log: Logger;
  request: Request;
  /** The type the enclosing ResourceReconciler reconciles. */
  resourceType: TypeRef;
  /** The Config the reconcile started with, before any `WithConfig`. */
  originalConfig: Config;
}

/** A mapping from a watched object to the requests it should enqueue. */
export type MapFunc = (obj: KubeObject) => Request[];

/**
 * What a reconciler declares at setup: the watches it needs. The controller
 * turns them into informers and event handlers.
 */
export interface Builder {
  /** Enqueue the owner (by controller ownerReference) when an object of `type` changes. */
  owns(type: TypeRef): void;
  /** Enqueue what `map` returns when an object of `type` changes. */
  watches(type: TypeRef, map: MapFunc, options?: { metadataOnly?: boolean }): void;
  /** Declares an index on the informer of `type` (for listers and field lookups). */
  index(type: TypeRef, name: string, fn: (obj: KubeObject) => string[]): void;
}

export interface SetupContext {
  config: Config;
  builder: Builder;
  log: Logger;
  resourceType: TypeRef;
}

/** The unit reconcilers are composed of (reconciler.io's SubReconciler). */
export interface SubReconciler<T extends KubeObject> {
  readonly name: string;
  setup?(ctx: SetupContext): void | Promise<void>;
  /** Mutates `resource` (its status) in place; throws to fail, `HaltSubReconcilers` to stop a Sequence. */
  reconcile(ctx: ReconcileContext, resource: T): Promise<Result | void>;
}

/** A whole reconciler: what a controller runs for each request. */
export interface Reconciler {
  readonly name: string;
  setup?(ctx: SetupContext): void | Promise<void>;
  reconcile(
    ctx: Omit<ReconcileContext, 'resourceType'> & { resourceType?: TypeRef },
    request: Request,
  ): Promise<Result>;
}
