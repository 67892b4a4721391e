import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import { HaltSubReconcilers, aggregateResults } from '../result.ts';
import type { Result } from '../result.ts';

export interface SequenceOptions<T extends KubeObject> {
  name?: string;
  reconcilers: ReadonlyArray<SubReconciler<T>>;
}

/**
 * Runs sub-reconcilers in order and aggregates their results (the soonest
 * requeue wins). The first error stops the sequence and is thrown, and so is
 * `HaltSubReconcilers`, so enclosing sequences stop too; a halt carries the
 * results aggregated so far, and the ResourceReconciler returns them as a success.
 */
export class Sequence<T extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly reconcilers: ReadonlyArray<SubReconciler<T>>;

  constructor(options: SequenceOptions<T> | ReadonlyArray<SubReconciler<T>>) {
    const o: SequenceOptions<T> = isOptions(options) ? options : { reconcilers: options };
    this.name = o.name ?? 'Sequence';
    this.reconcilers = [...o.reconcilers];
  }

  async setup(ctx: SetupContext): Promise<void> {
    for (const r of this.reconcilers) await r.setup?.(ctx);
  }

  async reconcile(ctx: ReconcileContext, resource: T): Promise<Result> {
    let result: Result = {};
    for (const r of this.reconcilers) {
      const log = ctx.log.child({ subReconciler: r.name });
      try {
        result = aggregateResults(result, await r.reconcile({ ...ctx, log }, resource));
      } catch (err) {
        if (err instanceof HaltSubReconcilers) throw err.withResult(result);
        throw err;
      }
    }
    return result;
  }
}

function isOptions<T extends KubeObject>(
  o: SequenceOptions<T> | ReadonlyArray<SubReconciler<T>>,
): o is SequenceOptions<T> {
  return !Array.isArray(o);
}
