import { describeObject } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { deepCopy, deepEqual } from '../equality.ts';
import { applyJsonPatch, jsonPatchDiff } from '../json-patch.ts';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import type { Result } from '../result.ts';

export interface CastResourceOptions<T extends KubeObject, C extends KubeObject> {
  name?: string;
  /**
   * The view the reconciler works on, e.g. the PodSpec-able part of a workload.
   * It must keep the paths of the resource (a projection, not a reshaping) and
   * arrays whole, since changes are copied back path by path. Default: a copy.
   */
  cast?: (resource: T) => C;
  reconciler: SubReconciler<C>;
}

/**
 * Runs a reconciler on a view of the resource (reconciler.io's CastResource, for
 * duck types) and copies what it changed back onto the resource as a JSON patch
 * of the view, so fields outside the view are left as they were.
 */
export class CastResource<T extends KubeObject, C extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: CastResourceOptions<T, C>;

  constructor(options: CastResourceOptions<T, C>) {
    this.name = options.name ?? 'CastResource';
    this.#options = options;
  }

  async setup(ctx: SetupContext): Promise<void> {
    await this.#options.reconciler.setup?.(ctx);
  }

  async reconcile(ctx: ReconcileContext, resource: T): Promise<Result> {
    const cast = this.#options.cast
      ? this.#options.cast(deepCopy(resource))
      : (deepCopy(resource) as KubeObject as C);
    const original = deepCopy(cast);
    let result: Result = {};
    let failure: { err: unknown } | undefined;
    try {
      result = (await this.#options.reconciler.reconcile(ctx, cast)) ?? {};
    } catch (err) {
      failure = { err };
    }
    // Changes made before a failure are kept, as they would be without the cast.
    if (!deepEqual(original, cast)) {
      let patched: T;
      try {
        patched = applyJsonPatch<T>(resource, jsonPatchDiff(original, cast));
      } catch (err) {
        throw new Error(
          `${this.name}: cannot copy the view's changes back onto ${describeObject(resource)} (does cast keep its paths?): ${(err as Error).message}`,
          { cause: err },
        );
      }
      replaceContents(resource, patched);
    }
    if (failure) throw failure.err;
    return result;
  }
}

/** Makes `target` hold `source`'s fields, in place: callers hold a reference to it. */
function replaceContents(target: KubeObject, source: KubeObject): void {
  for (const key of Object.keys(target)) if (!Object.hasOwn(source, key)) delete target[key];
  Object.assign(target, source);
}
