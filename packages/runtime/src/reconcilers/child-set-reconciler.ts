import { errorMessage } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { addFinalizer, clearFinalizer } from '../finalizers.ts';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import type { ResourceManager } from '../resource-manager.ts';
import type { Result } from '../result.ts';
import { prepareDesired } from './child-reconciler.ts';
import {
  OnlyReconcileChildStatus,
  childWiring,
  deleteChildren,
  isReflectableError,
  listOurChildren,
  setupChildWatch,
} from './children.ts';
import type { ChildOptions, ChildSelection } from './children.ts';

/** The outcome for one child id: the child as it is now, or the error to reflect. */
export interface ChildSetPartialResult<C extends KubeObject> {
  id: string;
  child?: C;
  err?: unknown;
}

export interface ChildSetResult<C extends KubeObject> {
  /** Desired and existing children, by id in sorted order. */
  children: Array<ChildSetPartialResult<C>>;
}

/** The errors of a ChildSetResult as one (undefined when there are none). */
export function aggregateChildErrors<C extends KubeObject>(result: ChildSetResult<C>): Error | undefined {
  const errors = result.children.flatMap((c) => (c.err === undefined ? [] : [c.err]));
  if (errors.length === 0) return undefined;
  if (errors.length === 1 && errors[0] instanceof Error) return errors[0];
  return new AggregateError(errors, errors.map((e) => errorMessage(e)).join('; '));
}

export interface ChildSetReconcilerOptions<T extends KubeObject, C extends KubeObject> extends ChildOptions<
  T,
  C
> {
  /**
   * The children as they should be; each must have a stable id (`identifyChild`)
   * that is also ours (`ourChild`). Throw `OnlyReconcileChildStatus` to leave the
   * children alone and only reflect them.
   */
  desiredChildren: (ctx: ReconcileContext, parent: T) => C[] | undefined | Promise<C[] | undefined>;
  /** A stable id, the same before and after the API server has the child: e.g. a label value. */
  identifyChild: (child: C) => string;
  reflectChildrenStatusOnParent: (
    ctx: ReconcileContext,
    parent: T,
    result: ChildSetResult<C>,
  ) => void | Promise<void>;
}

/**
 * Keeps a set of children in the desired state (reconciler.io's
 * ChildSetReconciler): desired and existing children are paired by id; each
 * pair is created, updated or deleted like a ChildReconciler's one child.
 */
export class ChildSetReconciler<T extends KubeObject, C extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: ChildSetReconcilerOptions<T, C>;
  readonly #selection: ChildSelection<T, C>;
  readonly #manager: ResourceManager<C>;

  constructor(options: ChildSetReconcilerOptions<T, C>) {
    this.name = options.name;
    this.#options = options;
    // One manager for every child: its mutation cache is keyed by uid anyway. The parent's finalizer
    // is handled here, once for the whole set.
    ({ selection: this.#selection, manager: this.#manager } = childWiring(
      'ChildSetReconciler',
      options,
      false,
    ));
  }

  setup(ctx: SetupContext): Promise<void> {
    return setupChildWatch(ctx, this.#selection, this.#options.setup);
  }

  async reconcile(ctx: ReconcileContext, parent: T): Promise<Result> {
    const o = this.#options;
    const log = ctx.log.child({ childType: o.childType.kind });
    const childCtx = { ...ctx, log };
    const deleting = parent.metadata.deletionTimestamp !== undefined;

    let onlyStatus = false;
    const desiredById = new Map<string, C>();
    if (!deleting) {
      let desired: C[] = [];
      try {
        desired = (await o.desiredChildren(childCtx, parent)) ?? [];
      } catch (err) {
        if (!(err instanceof OnlyReconcileChildStatus)) throw err;
        onlyStatus = true;
      }
      for (const child of desired) {
        const id = o.identifyChild(child);
        if (id === '') throw new Error(`${this.name}: a desired child has an empty id`);
        if (desiredById.has(id))
          throw new Error(`${this.name}: duplicate desired child id ${JSON.stringify(id)}`);
        desiredById.set(id, child);
      }
    }

    if (o.finalizer && !deleting && !onlyStatus) await addFinalizer(childCtx, parent, o.finalizer);

    const actualById = new Map<string, C[]>();
    for (const child of await listOurChildren(childCtx, this.#selection, parent)) {
      const id = o.identifyChild(child);
      actualById.set(id, [...(actualById.get(id) ?? []), child]);
    }

    const ids = [...new Set([...desiredById.keys(), ...actualById.keys()])].sort();
    const result: ChildSetResult<C> = { children: [] };
    let failure: { err: unknown } | undefined;
    for (const id of ids) {
      const actuals = actualById.get(id) ?? [];
      const desired = desiredById.get(id);
      try {
        const child = onlyStatus ? actuals[0] : await this.#reconcileOne(childCtx, parent, actuals, desired);
        result.children.push({ id, ...(child ? { child } : {}) });
      } catch (err) {
        if (!deleting && (await isReflectableError(childCtx, this.#selection, parent, desired, err))) {
          result.children.push({ id, err });
          continue;
        }
        failure = { err };
        break;
      }
    }

    if (!failure && o.finalizer && deleting && actualById.size === 0) {
      await clearFinalizer(childCtx, parent, o.finalizer);
    }
    if (!deleting) await o.reflectChildrenStatusOnParent(childCtx, parent, result);
    if (failure) throw failure.err;
    return {};
  }

  async #reconcileOne(
    ctx: ReconcileContext,
    parent: T,
    actuals: C[],
    desired: C | undefined,
  ): Promise<C | undefined> {
    let actual: C | undefined = actuals.length === 1 ? actuals[0] : undefined;
    if (actuals.length > 1) {
      await deleteChildren(ctx, parent, actuals);
      actual = undefined;
    }
    if (desired !== undefined) prepareDesired(ctx, this.#selection, parent, desired);
    return this.#manager.manage(ctx, parent, actual, desired);
  }
}
