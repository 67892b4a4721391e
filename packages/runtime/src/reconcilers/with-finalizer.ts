import type { KubeObject } from '@bindery/kube';
import { addFinalizer, clearFinalizer } from '../finalizers.ts';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import type { Result } from '../result.ts';

export interface WithFinalizerOptions<T extends KubeObject> {
  name?: string;
  /** Unique to this reconciler: a shared finalizer may be cleared while other state remains. */
  finalizer: string;
  reconciler: SubReconciler<T>;
}

/**
 * Holds the resource with a finalizer while the nested reconciler owns state
 * to clean up: adds it before reconciling a live resource, and clears it after
 * a successful reconcile of a resource being deleted.
 */
export class WithFinalizer<T extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: WithFinalizerOptions<T>;

  constructor(options: WithFinalizerOptions<T>) {
    if (!options.finalizer) throw new Error(`WithFinalizer ${options.name ?? ''}: finalizer is required`);
    this.name = options.name ?? 'WithFinalizer';
    this.#options = options;
  }

  async setup(ctx: SetupContext): Promise<void> {
    await this.#options.reconciler.setup?.(ctx);
  }

  async reconcile(ctx: ReconcileContext, resource: T): Promise<Result> {
    const { finalizer, reconciler } = this.#options;
    if (resource.metadata.deletionTimestamp === undefined) await addFinalizer(ctx, resource, finalizer);
    const result = (await reconciler.reconcile(ctx, resource)) ?? {};
    if (resource.metadata.deletionTimestamp !== undefined) await clearFinalizer(ctx, resource, finalizer);
    return result;
  }
}
