import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import { HaltSubReconcilers, aggregateResults } from '../result.ts';
import type { Result } from '../result.ts';

/** What `catch` decides: the result to go on with, and the error (if any) to throw. */
export type CatchReturn = [Result, unknown] | Promise<[Result, unknown]>;

export interface TryCatchOptions<T extends KubeObject> {
  name?: string;
  try: SubReconciler<T>;
  /**
   * Called with what `try` produced (`err` undefined on success); returns the
   * result and error to continue with: return `[result, undefined]` to suppress.
   * Without it, the outcome of `try` passes through.
   */
  catch?: (ctx: ReconcileContext, resource: T, result: Result, err: unknown) => CatchReturn;
  /** Always runs last. Its error replaces any other; its result is aggregated. */
  finally?: SubReconciler<T>;
}

/** try/catch/finally for sub-reconcilers (reconciler.io's TryCatch). */
export class TryCatch<T extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: TryCatchOptions<T>;

  constructor(options: TryCatchOptions<T>) {
    this.name = options.name ?? 'TryCatch';
    this.#options = options;
  }

  async setup(ctx: SetupContext): Promise<void> {
    await this.#options.try.setup?.(ctx);
    await this.#options.finally?.setup?.(ctx);
  }

  async reconcile(ctx: ReconcileContext, resource: T): Promise<Result> {
    let result: Result = {};
    let failure: { err: unknown } | undefined;
    try {
      result = (await this.#options.try.reconcile(ctx, resource)) ?? {};
    } catch (err) {
      failure = { err };
      // reconciler.io hands Catch the result returned with the error: a halt carries one.
      if (err instanceof HaltSubReconcilers) result = err.result;
    }
    if (this.#options.catch) {
      const [caughtResult, caughtErr] = await this.#options.catch(ctx, resource, result, failure?.err);
      result = caughtResult;
      failure = caughtErr === undefined ? undefined : { err: caughtErr };
    }
    if (this.#options.finally) {
      // An error from finally propagates as it is: it wins over err.
      result = aggregateResults(result, await this.#options.finally.reconcile(ctx, resource));
    }
    if (failure) throw failure.err;
    return result;
  }
}
