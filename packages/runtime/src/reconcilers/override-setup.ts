import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import type { Result } from '../result.ts';

export interface OverrideSetupOptions<T extends KubeObject> {
  name?: string;
  /** Runs instead of the reconciler's own setup. */
  setup?: (ctx: SetupContext) => void | Promise<void>;
  reconciler?: SubReconciler<T>;
}

/**
 * Runs a reconciler without its setup, and `setup` in its place: to reuse a
 * reconciler whose watches another part of the controller already declares.
 */
export class OverrideSetup<T extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: OverrideSetupOptions<T>;

  constructor(options: OverrideSetupOptions<T>) {
    if (!options.setup && !options.reconciler) {
      throw new Error(`OverrideSetup ${options.name ?? ''}: needs setup, reconciler, or both`);
    }
    this.name = options.name ?? 'OverrideSetup';
    this.#options = options;
  }

  async setup(ctx: SetupContext): Promise<void> {
    await this.#options.setup?.(ctx);
  }

  async reconcile(ctx: ReconcileContext, resource: T): Promise<Result> {
    return (await this.#options.reconciler?.reconcile(ctx, resource)) ?? {};
  }
}
