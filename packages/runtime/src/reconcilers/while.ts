import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import { HaltSubReconcilers, aggregateResults } from '../result.ts';
import type { Result } from '../result.ts';
import { StashKey } from '../stash.ts';

/** Thrown by `While` when its condition still holds after `maxIterations`. */
export class MaxIterationsError extends Error {
  readonly iterations: number;

  constructor(name: string, iterations: number) {
    super(`${name}: exceeded max iterations: ${iterations}`);
    this.name = 'MaxIterationsError';
    this.iterations = iterations;
  }
}

const iterationKey = new StashKey<number>('bindery:iteration');

/** The index of the innermost `While` iteration running, or -1 outside of a loop. */
export function retrieveIteration(ctx: Pick<ReconcileContext, 'stash'>): number {
  return ctx.stash.get(iterationKey) ?? -1;
}

export interface WhileOptions<T extends KubeObject> {
  name?: string;
  condition: (ctx: ReconcileContext, resource: T) => boolean | Promise<boolean>;
  reconciler: SubReconciler<T>;
  /** Guards against a loop that never ends. Default 100; 0 means no limit. */
  maxIterations?: number;
}

/**
 * Runs the reconciler while the condition holds. Not for waiting on the
 * cluster: watch what you wait for and let its change enqueue a new reconcile.
 */
export class While<T extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: WhileOptions<T>;

  constructor(options: WhileOptions<T>) {
    this.name = options.name ?? 'While';
    this.#options = options;
  }

  async setup(ctx: SetupContext): Promise<void> {
    await this.#options.reconciler.setup?.(ctx);
  }

  async reconcile(ctx: ReconcileContext, resource: T): Promise<Result> {
    const max = this.#options.maxIterations ?? 100;
    const outer = ctx.stash.get(iterationKey);
    let result: Result = {};
    try {
      for (let i = 0; ; i++) {
        if (max !== 0 && i >= max) throw new MaxIterationsError(this.name, i);
        ctx.stash.set(iterationKey, i);
        const iterCtx = { ...ctx, log: ctx.log.child({ iteration: i }) };
        if (!(await this.#options.condition(iterCtx, resource))) break;
        result = aggregateResults(result, await this.#options.reconciler.reconcile(iterCtx, resource));
      }
    } catch (err) {
      // A halt keeps what earlier iterations asked for.
      if (err instanceof HaltSubReconcilers) throw err.withResult(result);
      throw err;
    } finally {
      // Nested loops: the enclosing loop sees its own index again.
      if (outer === undefined) ctx.stash.delete(iterationKey);
      else ctx.stash.set(iterationKey, outer);
    }
    return result;
  }
}
