import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import { aggregateResults } from '../result.ts';
import type { Result } from '../result.ts';

/** What a sync or finalize function may return: a result, or nothing for "done". */
export type SyncReturn = Result | void | Promise<Result | void>;

export interface SyncReconcilerOptions<T extends KubeObject> {
  name?: string;
  setup?: (ctx: SetupContext) => void | Promise<void>;
  /** The work; edits the resource (its status) in place. Not called while deleting unless `syncDuringFinalization`. */
  sync: (ctx: ReconcileContext, resource: T) => SyncReturn;
  /** Cleans up what a finalizer protects; called while the resource is being deleted. */
  finalize?: (ctx: ReconcileContext, resource: T) => SyncReturn;
  /** Also sync a resource that is being deleted (for reconcilers that maintain reference data). */
  syncDuringFinalization?: boolean;
}

/** Custom reconcile logic (reconciler.io's SyncReconciler). */
export class SyncReconciler<T extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: SyncReconcilerOptions<T>;

  constructor(options: SyncReconcilerOptions<T>) {
    this.name = options.name ?? 'SyncReconciler';
    this.#options = options;
  }

  async setup(ctx: SetupContext): Promise<void> {
    await this.#options.setup?.(ctx);
  }

  async reconcile(ctx: ReconcileContext, resource: T): Promise<Result> {
    const deleting = resource.metadata.deletionTimestamp !== undefined;
    let result: Result = {};
    if (!deleting || this.#options.syncDuringFinalization) {
      result = aggregateResults(result, await this.#options.sync(ctx, resource));
    }
    if (deleting && this.#options.finalize) {
      result = aggregateResults(result, await this.#options.finalize(ctx, resource));
    }
    return result;
  }
}
