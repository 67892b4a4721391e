import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import type { Result } from '../result.ts';

export interface IfThenOptions<T extends KubeObject> {
  name?: string;
  if: (ctx: ReconcileContext, resource: T) => boolean | Promise<boolean>;
  then: SubReconciler<T>;
  else?: SubReconciler<T>;
}

/** Runs `then` when `if` holds, `else` (if any) otherwise. */
export class IfThen<T extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: IfThenOptions<T>;

  constructor(options: IfThenOptions<T>) {
    this.name = options.name ?? 'IfThen';
    this.#options = options;
  }

  async setup(ctx: SetupContext): Promise<void> {
    await this.#options.then.setup?.(ctx);
    await this.#options.else?.setup?.(ctx);
  }

  async reconcile(ctx: ReconcileContext, resource: T): Promise<Result> {
    const branch = (await this.#options.if(ctx, resource)) ? this.#options.then : this.#options.else;
    return (await branch?.reconcile(ctx, resource)) ?? {};
  }
}
