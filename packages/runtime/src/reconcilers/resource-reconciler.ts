import { isConflict, isNotFound, isObject } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { restoreLastTransitionTimes } from '../conditions.ts';
import type { ConditionSet } from '../conditions.ts';
import { deepCopy, deepEqual } from '../equality.ts';
import type { ReconcileContext, Reconciler, Request, SetupContext, SubReconciler } from '../reconciler.ts';
import { HaltSubReconcilers, aggregateResults } from '../result.ts';
import type { Result } from '../result.ts';
import { resourceContext } from './context.ts';

export interface ResourceReconcilerOptions<T extends KubeObject> {
  /** Names the reconciler in logs. */
  name: string;
  /** The type reconciled: what requests name. */
  type: TypeRef;
  /** Typically a Sequence. `HaltSubReconcilers` stops it and counts as success, with the halt's result. */
  reconciler: SubReconciler<T>;
  /** Extra watches and indexes, besides the sub-reconcilers' own. */
  setup?: (ctx: SetupContext) => void | Promise<void>;
  /** Initialized before each reconcile (`status.conditions`). */
  conditions?: ConditionSet;
  /** For a reconciler that is not the status owner of its type: events and finalizers only. */
  skipStatusUpdate?: boolean;
  /** Also write status while the resource is being deleted (it would otherwise be skipped). */
  syncStatusDuringFinalization?: boolean;
}

/**
 * Reconciles one existing resource per request (reconciler.io's
 * ResourceReconciler): reads it, hands a copy to the sub-reconciler, and writes
 * its status back through the `/status` subresource when it changed.
 */
export class ResourceReconciler<T extends KubeObject> implements Reconciler {
  readonly name: string;
  readonly type: TypeRef;
  readonly #options: ResourceReconcilerOptions<T>;

  constructor(options: ResourceReconcilerOptions<T>) {
    this.name = options.name;
    this.type = { apiVersion: options.type.apiVersion, kind: options.type.kind };
    this.#options = options;
  }

  async setup(ctx: SetupContext): Promise<void> {
    const log = ctx.log.child({ reconciler: this.name });
    const setupCtx = { ...ctx, log, resourceType: this.type };
    await this.#options.setup?.(setupCtx);
    await this.#options.reconciler.setup?.(setupCtx);
  }

  async reconcile(
    outer: Omit<ReconcileContext, 'resourceType'> & { resourceType?: TypeRef },
    request: Request,
  ): Promise<Result> {
    const ctx = resourceContext(outer, this.name, this.type, request);
    const { config, log } = ctx;

    let original: T;
    try {
      original = await config.client.get<T>(
        { ...this.type, name: request.name, ...(request.namespace ? { namespace: request.namespace } : {}) },
        { signal: ctx.signal },
      );
    } catch (err) {
      // Gone: its deletion is the event that enqueued it; nothing to retry.
      if (isNotFound(err)) return {};
      log.error({ err }, 'unable to fetch resource');
      throw err;
    }

    const deleting = original.metadata.deletionTimestamp !== undefined;
    if (deleting && (original.metadata.finalizers ?? []).length === 0) return {};

    // Reads return objects the caller owns (see Reader), so reconcile `original` itself and keep
    // only its status to compare against.
    const resource = original;
    const originalStatus: unknown = deepCopy(original['status']);
    // An object the API server returns always has these; a fake or a cache may not.
    resource.apiVersion ??= this.type.apiVersion;
    resource.kind ??= this.type.kind;
    if (this.#options.conditions) {
      const obj: KubeObject = resource;
      if (!isObject(obj['status'])) obj['status'] = {};
      this.#options.conditions.manage(obj['status'] as Record<string, unknown>, config.clock).initialize();
    }

    let result: Result = {};
    let failure: { err: unknown } | undefined;
    try {
      result = (await this.#options.reconciler.reconcile(ctx, resource)) ?? {};
    } catch (err) {
      // reconciler.io returns the halt's result: a halted reconcile may still ask to requeue.
      if (err instanceof HaltSubReconcilers) result = err.result;
      else failure = { err };
    }
    // Only a successful reconcile has observed this generation.
    if (!failure) copyGeneration(resource);

    if (this.#options.skipStatusUpdate || (deleting && !this.#options.syncStatusDuringFinalization)) {
      if (failure) throw failure.err;
      return result;
    }

    const status = resource['status'];
    if (isObject(status) && isObject(originalStatus)) {
      restoreLastTransitionTimes(status['conditions'], originalStatus['conditions']);
    }
    if (!deepEqual(status, originalStatus)) {
      log.info({ diff: { from: originalStatus, to: status } }, 'updating status');
      try {
        await config.client.updateStatus(resource, { signal: ctx.signal });
        ctx.originalConfig.recorder.event(resource, {
          type: 'Normal',
          reason: 'StatusUpdated',
          note: 'Updated status',
        });
      } catch (err) {
        if (isConflict(err)) {
          // Our copy is stale; a fresh read on the next reconcile will do.
          log.info({ err }, 'status update conflicted; requeueing');
          result = aggregateResults(result, { requeue: true });
        } else {
          log.error({ err }, 'unable to update status');
          ctx.originalConfig.recorder.event(resource, {
            type: 'Warning',
            reason: 'StatusUpdateFailed',
            note: `Failed to update status: ${(err as Error).message}`,
          });
          // The sub-reconciler's error, if any, is the root cause: report that one.
          failure ??= { err };
        }
      }
    }
    // The controller logs it and requeues with backoff.
    if (failure) throw failure.err;
    return result;
  }
}

/** `status.observedGeneration = metadata.generation`, for resources that have a status. */
function copyGeneration(resource: KubeObject): void {
  const generation = resource.metadata.generation;
  const status = resource['status'];
  if (generation === undefined || !isObject(status)) return;
  status['observedGeneration'] = generation;
}
