// What ChildReconciler and ChildSetReconciler share: owner references, listing
// our children, deleting extras, and which child errors belong on the parent.

import {
  StatusError,
  describeObject,
  isAlreadyExists,
  isInvalid,
  isNotFound,
  parseApiVersion,
  refOf,
} from '@bindery/kube';
import type { KubeObject, ListOptions, OwnerReference, TypeRef } from '@bindery/kube';
import { deepCopy } from '../equality.ts';
import type { ReconcileContext, SetupContext } from '../reconciler.ts';
import { ResourceManager } from '../resource-manager.ts';
import { enqueueTracked } from '../tracker.ts';

/**
 * Thrown by `desiredChild`/`desiredChildren` to leave existing children as they
 * are while still reflecting their status on the parent.
 */
export class OnlyReconcileChildStatus extends Error {
  constructor() {
    super('only reconcile child status');
    this.name = 'OnlyReconcileChildStatus';
  }
}

/** The controller owner reference `owner` would put on `obj`. */
export function controllerReference(owner: KubeObject, ownerType?: TypeRef): OwnerReference {
  const apiVersion = owner.apiVersion ?? ownerType?.apiVersion;
  const kind = owner.kind ?? ownerType?.kind;
  if (!apiVersion || !kind || !owner.metadata.name || !owner.metadata.uid) {
    throw new Error(
      `owner reference to ${describeObject(owner)}: apiVersion, kind, name and uid are required`,
    );
  }
  return {
    apiVersion,
    kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Makes `owner` the controller of `obj`; throws if another object already controls it. */
export function setControllerReference(owner: KubeObject, obj: KubeObject, ownerType?: TypeRef): void {
  const ref = controllerReference(owner, ownerType);
  const refs = obj.metadata.ownerReferences ?? [];
  const other = refs.find((r) => r.controller === true && r.uid !== ref.uid);
  if (other) {
    throw new Error(`${describeObject(obj)} is already controlled by ${other.kind} ${other.name}`);
  }
  obj.metadata.ownerReferences = [...refs.filter((r) => !sameObject(r, ref)), ref];
}

/** `obj` has a controller reference to `owner`, by uid: a recreated owner of the same name is another owner. */
export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  const uid = owner.metadata.uid;
  return (obj.metadata.ownerReferences ?? []).some(
    (r) => r.controller === true && uid !== undefined && r.uid === uid,
  );
}

function sameObject(a: OwnerReference, b: OwnerReference): boolean {
  return (
    a.kind === b.kind &&
    a.name === b.name &&
    parseApiVersion(a.apiVersion).group === parseApiVersion(b.apiVersion).group
  );
}

/** The options ChildReconciler and ChildSetReconciler share. */
export interface ChildOptions<T extends KubeObject, C extends KubeObject> {
  name: string;
  childType: TypeRef;
  /** Copies what we own from `desired` onto `current` (spec, labels, annotations). */
  mergeBeforeUpdate: (current: C, desired: C) => void;
  harmonizeImmutableFields?: (current: C, desired: C) => void;
  /** Tells our child apart from other children of the same parent and type. Required without owner references. */
  ourChild?: (parent: T, child: C) => boolean;
  /** Where to look for children. Default: the parent's namespace. */
  listOptions?: (ctx: ReconcileContext, parent: T) => ListOptions;
  /**
   * For children garbage collection cannot reach (another namespace, cluster
   * scope): the parent holds this finalizer until its children are gone.
   * Implies `skipOwnerReference`.
   */
  finalizer?: string;
  /** Do not set a controller owner reference; children are found with `ourChild` and tracked instead. */
  skipOwnerReference?: boolean;
  setup?: (ctx: SetupContext) => void | Promise<void>;
  sanitize?: (child: C) => unknown;
}

/**
 * How a child reconciler finds its children and the ResourceManager that writes them. `kind` names
 * the reconciler in the error for a missing `ourChild`; `managerFinalizer` hands the finalizer to the
 * manager (ChildReconciler) rather than leaving it to the caller (ChildSetReconciler).
 */
export function childWiring<T extends KubeObject, C extends KubeObject>(
  kind: string,
  options: ChildOptions<T, C>,
  managerFinalizer: boolean,
): { selection: ChildSelection<T, C>; manager: ResourceManager<C> } {
  const skipOwnerReference = options.skipOwnerReference === true || options.finalizer !== undefined;
  if (skipOwnerReference && !options.ourChild) {
    throw new Error(`${kind} ${options.name}: ourChild is required when owner references are not used`);
  }
  const selection: ChildSelection<T, C> = {
    childType: options.childType,
    skipOwnerReference,
    ...(options.ourChild ? { ourChild: options.ourChild } : {}),
    ...(options.listOptions ? { listOptions: options.listOptions } : {}),
  };
  const manager = new ResourceManager<C>({
    name: options.name,
    type: options.childType,
    mergeBeforeUpdate: options.mergeBeforeUpdate,
    trackDesired: skipOwnerReference,
    ...(managerFinalizer && options.finalizer ? { finalizer: options.finalizer } : {}),
    ...(options.harmonizeImmutableFields
      ? { harmonizeImmutableFields: options.harmonizeImmutableFields }
      : {}),
    ...(options.sanitize ? { sanitize: options.sanitize } : {}),
  });
  return { selection, manager };
}

/**
 * Children we own are watched through owner references, and every child-typed object through the
 * tracker too: children without owner references are tracked, and so is an object that holds a
 * child's name (AlreadyExists), so its deletion wakes the parent.
 */
export async function setupChildWatch<T extends KubeObject, C extends KubeObject>(
  ctx: SetupContext,
  selection: ChildSelection<T, C>,
  setup: ChildOptions<T, C>['setup'],
): Promise<void> {
  if (!selection.skipOwnerReference) ctx.builder.owns(selection.childType);
  ctx.builder.watches(selection.childType, enqueueTracked(ctx));
  await setup?.(ctx);
}

export interface ChildSelection<T extends KubeObject, C extends KubeObject> {
  childType: TypeRef;
  skipOwnerReference: boolean;
  ourChild?: (parent: T, child: C) => boolean;
  listOptions?: (ctx: ReconcileContext, parent: T) => ListOptions;
}

export function isOurChild<T extends KubeObject, C extends KubeObject>(
  sel: ChildSelection<T, C>,
  parent: T,
  child: C,
): boolean {
  if (!sel.skipOwnerReference && !isControlledBy(child, parent)) return false;
  return sel.ourChild ? sel.ourChild(parent, child) : true;
}

/** Our children, as copies (a cached client may hand out its own objects) with apiVersion and kind set. */
export async function listOurChildren<T extends KubeObject, C extends KubeObject>(
  ctx: ReconcileContext,
  sel: ChildSelection<T, C>,
  parent: T,
): Promise<C[]> {
  const options: ListOptions = sel.listOptions
    ? sel.listOptions(ctx, parent)
    : parent.metadata.namespace
      ? { namespace: parent.metadata.namespace }
      : {};
  const list = await ctx.config.client.list<C>(sel.childType, { ...options, signal: ctx.signal });
  return list.items
    .map((item) => {
      const copy = deepCopy(item);
      // List items of built-in types come without apiVersion and kind.
      copy.apiVersion ??= sel.childType.apiVersion;
      copy.kind ??= sel.childType.kind;
      return copy;
    })
    .filter((child) => isOurChild(sel, parent, child));
}

/** Deletes children that should not be there (more than one for one desired child). */
export async function deleteChildren<C extends KubeObject>(
  ctx: ReconcileContext,
  parent: KubeObject,
  children: C[],
): Promise<void> {
  const recorder = ctx.originalConfig.recorder;
  for (const extra of children) {
    const kind = extra.kind ?? 'object';
    ctx.log.info({ child: describeObject(extra) }, 'deleting extra child');
    try {
      const uid = extra.metadata.uid;
      await ctx.config.client.delete(refOf(extra, { apiVersion: '', kind }), {
        signal: ctx.signal,
        ...(uid ? { preconditions: { uid } } : {}),
      });
    } catch (err) {
      if (isNotFound(err)) continue;
      recorder.event(parent, {
        type: 'Warning',
        reason: 'DeleteFailed',
        note: `Failed to delete ${kind} ${JSON.stringify(extra.metadata.name)}: ${(err as Error).message}`,
      });
      throw err;
    }
    recorder.event(parent, {
      type: 'Normal',
      reason: 'Deleted',
      note: `Deleted ${kind} ${JSON.stringify(extra.metadata.name)}`,
    });
  }
}

/**
 * Whether a child's error belongs on the parent's status rather than failing
 * the reconcile: the name is taken by an object that is not ours (retrying
 * will not help; the user must act), or the API server rejected the child as
 * invalid. AlreadyExists for a child that IS ours is a cache that has not seen
 * our create yet: fail and retry.
 */
export async function isReflectableError<T extends KubeObject, C extends KubeObject>(
  ctx: ReconcileContext,
  sel: ChildSelection<T, C>,
  parent: T,
  desired: C | undefined,
  err: unknown,
): Promise<boolean> {
  if (isInvalid(err)) return true;
  if (!isAlreadyExists(err)) return false;
  const name = (err instanceof StatusError ? err.status.details?.name : undefined) ?? desired?.metadata.name;
  if (!name) return true;
  const namespace = desired?.metadata.namespace ?? parent.metadata.namespace;
  let conflicted: C | undefined;
  try {
    conflicted = await ctx.config.apiReader.get<C>(
      { ...sel.childType, name, ...(namespace ? { namespace } : {}) },
      { signal: ctx.signal },
    );
  } catch {
    conflicted = undefined;
  }
  if (conflicted && isOurChild(sel, parent, conflicted)) return false;
  // Nothing else wakes the parent when the blocker goes away: it is not ours, so Owns misses it.
  ctx.config.tracker.trackReference(
    { ...sel.childType, name, ...(namespace ? { namespace } : {}) },
    refOf(parent, ctx.resourceType),
  );
  ctx.log.info(
    {
      child: `${namespace ? `${namespace}/` : ''}${name}`,
      ownerReferences: conflicted?.metadata.ownerReferences,
    },
    'unable to reconcile child, not owned',
  );
  return true;
}
