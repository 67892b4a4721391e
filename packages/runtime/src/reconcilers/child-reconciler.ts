import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import type { ResourceManager } from '../resource-manager.ts';
import type { Result } from '../result.ts';
import {
  OnlyReconcileChildStatus,
  childWiring,
  deleteChildren,
  isControlledBy,
  isOurChild,
  isReflectableError,
  listOurChildren,
  setControllerReference,
  setupChildWatch,
} from './children.ts';
import type { ChildOptions, ChildSelection } from './children.ts';

export interface ChildReconcilerOptions<T extends KubeObject, C extends KubeObject> extends ChildOptions<
  T,
  C
> {
  /**
   * The child as it should be, or undefined for none. Throw
   * `OnlyReconcileChildStatus` to leave the child alone and only reflect it.
   * Not called while the parent is being deleted (the child is then removed).
   */
  desiredChild: (ctx: ReconcileContext, parent: T) => C | undefined | Promise<C | undefined>;
  /**
   * Copies the child's state onto the parent's status. `err` is set for errors
   * the user must act on: the child's name is taken by an object that is not
   * ours (AlreadyExists), or the API server rejected the child (Invalid).
   */
  reflectChildStatusOnParent: (
    ctx: ReconcileContext,
    parent: T,
    child: C | undefined,
    err: unknown,
  ) => void | Promise<void>;
}

/**
 * Keeps exactly one child in the desired state (reconciler.io's ChildReconciler):
 * creates it when missing, updates it when it drifts, deletes it when not
 * desired, and deletes extra children. It never adopts an object it does not
 * control. Reacts to mutating webhooks through its ResourceManager's mutation cache.
 */
export class ChildReconciler<T extends KubeObject, C extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: ChildReconcilerOptions<T, C>;
  readonly #selection: ChildSelection<T, C>;
  readonly #manager: ResourceManager<C>;

  constructor(options: ChildReconcilerOptions<T, C>) {
    this.name = options.name;
    this.#options = options;
    ({ selection: this.#selection, manager: this.#manager } = childWiring('ChildReconciler', options, true));
  }

  setup(ctx: SetupContext): Promise<void> {
    return setupChildWatch(ctx, this.#selection, this.#options.setup);
  }

  async reconcile(ctx: ReconcileContext, parent: T): Promise<Result> {
    const log = ctx.log.child({ childType: this.#options.childType.kind });
    const childCtx = { ...ctx, log };
    const attempt: { desired?: C } = {};
    let child: C | undefined;
    try {
      child = await this.#reconcile(childCtx, parent, attempt);
    } catch (err) {
      // A parent being deleted has no status to reflect on.
      if (parent.metadata.deletionTimestamp !== undefined) throw err;
      if (!(await isReflectableError(childCtx, this.#selection, parent, attempt.desired, err))) throw err;
      await this.#options.reflectChildStatusOnParent(childCtx, parent, undefined, err);
      return {};
    }
    if (parent.metadata.deletionTimestamp === undefined) {
      await this.#options.reflectChildStatusOnParent(childCtx, parent, child, undefined);
    }
    return {};
  }

  async #reconcile(ctx: ReconcileContext, parent: T, attempt: { desired?: C }): Promise<C | undefined> {
    const children = await listOurChildren(ctx, this.#selection, parent);
    let actual: C | undefined = children.length === 1 ? children[0] : undefined;
    if (children.length > 1) {
      // Should not happen; start over from a clean slate rather than guess.
      await deleteChildren(ctx, parent, children);
      actual = undefined;
    }

    let desired: C | undefined;
    if (parent.metadata.deletionTimestamp === undefined) {
      try {
        desired = await this.#options.desiredChild(ctx, parent);
      } catch (err) {
        if (err instanceof OnlyReconcileChildStatus) return actual;
        throw err;
      }
    }
    if (desired !== undefined) {
      prepareDesired(ctx, this.#selection, parent, desired);
      attempt.desired = desired;
    }
    return this.#manager.manage(ctx, parent, actual, desired);
  }
}

/** Gives a desired child its type and controller reference, and warns if it would not be found again. */
export function prepareDesired<T extends KubeObject, C extends KubeObject>(
  ctx: ReconcileContext,
  sel: ChildSelection<T, C>,
  parent: T,
  desired: C,
): void {
  desired.apiVersion ??= sel.childType.apiVersion;
  desired.kind ??= sel.childType.kind;
  if (!sel.skipOwnerReference && !isControlledBy(desired, parent)) {
    setControllerReference(parent, desired, ctx.resourceType);
  }
  if (!isOurChild(sel, parent, desired)) {
    ctx.log.info(
      { child: desired.metadata.name },
      'desired child does not match ourChild; it may be orphaned',
    );
  }
}
