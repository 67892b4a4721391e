/** What a reconcile asks of the queue. An error (thrown) means: requeue with backoff. */
export interface Result {
  /** Reconcile again after this delay (and forget the failure count). */
  requeueAfterMs?: number;
  /** Reconcile again soon, rate-limited. */
  requeue?: boolean;
}

/** Combines the results of sub-reconcilers: the soonest requeue wins. */
export function aggregateResults(...results: Array<Result | void | undefined>): Result {
  const out: Result = {};
  for (const r of results) {
    if (!r) continue;
    if (r.requeue) out.requeue = true;
    if (r.requeueAfterMs !== undefined && r.requeueAfterMs > 0) {
      out.requeueAfterMs =
        out.requeueAfterMs === undefined ? r.requeueAfterMs : Math.min(out.requeueAfterMs, r.requeueAfterMs);
    }
  }
  return out;
}

/**
 * Thrown by a sub-reconciler to stop the rest of a `Sequence` without failing:
 * the status is still written and the reconcile counts as a success. Like
 * reconciler.io's `ErrHaltSubReconcilers` returned with a Result, it carries the
 * result so far (`result`): a halted reconcile still requeues when it asked to.
 */
export class HaltSubReconcilers extends Error {
  readonly result: Result;

  constructor(reason = 'halted', result: Result = {}) {
    super(reason);
    this.name = 'HaltSubReconcilers';
    this.result = aggregateResults(result);
  }

  /** The same halt, carrying `earlier` aggregated with its own result. */
  withResult(earlier: Result | void | undefined): HaltSubReconcilers {
    return new HaltSubReconcilers(this.message, aggregateResults(earlier, this.result));
  }
}
