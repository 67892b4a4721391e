// Step 2 of the ServiceBinding reconciler (the RI's ResolveWorkloads): the mapping of the workload
// kind, then the workloads the binding targets and those it was projected into and no longer
// targets. A kind not watched from the start is checked (served, a workload, listable) and then
// watched for as long as the binding names it. Runs while the binding is deleted too: what it
// finds is unprojected then.

import { NoKindMatchError, groupKind, isForbidden, isNotFound } from '@bindery/kube';
import { HaltSubReconcilers, SyncReconciler, aggregateResults } from '@bindery/runtime';
import type { ReconcileContext, Result } from '@bindery/runtime';
import { ServiceBindingConditions, ServiceBindingReasons } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import type { MappingSpec } from '../projector/index.ts';
import { clusterWorkloadResourceMappingType, workloadSelector, workloadType } from '../resolver/index.ts';
import type { ResourceFor } from '../resolver/index.ts';
import {
  conditions,
  newResolver,
  permission,
  pollKey,
  selfRef,
  warn,
  workloadSlot,
  workloadsKey,
} from './binding-context.ts';
import { describeDenied } from './kind-watcher.ts';
import type { KindWatcher, WatchDenied } from './kind-watcher.ts';
import { unsupportedWorkloadKind } from './workload-kinds.ts';
import { workloadCacheTransform } from './workload-cache.ts';

export interface ResolveWorkloadsOptions {
  resourceFor: ResourceFor;
  kindWatcher?: KindWatcher | undefined;
  /** Workload kinds watched from the start (`groupKind`). */
  watchedWorkloads: ReadonlySet<string>;
  pollMs: number;
}

/** RI-12, RB-1, RB-2, RB-4, SB-22: stashes the workloads (`workloadsKey`) for the projection. */
export function resolveWorkloads(options: ResolveWorkloadsOptions): SyncReconciler<ServiceBinding> {
  return new SyncReconciler<ServiceBinding>({
    name: 'ResolveWorkloads',
    sync: (ctx, binding) => resolve(ctx, binding, options, false),
    finalize: (ctx, binding) => resolve(ctx, binding, options, true),
  });
}

async function resolve(
  ctx: ReconcileContext,
  binding: ServiceBinding,
  options: ResolveWorkloadsOptions,
  deleting: boolean,
): Promise<void> {
  const { config } = ctx;
  const type = workloadType(binding);
  if (!type.apiVersion || !type.kind) return; // nothing could ever have been projected
  const resolver = newResolver(ctx, options.resourceFor);
  const namespace = binding.metadata.namespace ?? '';
  const name = binding.spec.workload.name;
  const poll = ctx.stash.get(pollKey) ?? {};
  // What nothing watched would tell: a kind served or allowed later.
  const retry: Result = aggregateResults(poll, { requeueAfterMs: options.pollMs });

  if (!deleting) {
    config.tracker.trackReference(
      name !== undefined && name !== ''
        ? { ...type, namespace, name }
        : { ...type, namespace, selector: workloadSelector(binding)?.toString() ?? '' },
      selfRef(binding),
    );
  }

  // Only for a live binding: a deleted one must go on to lose its finalizer.
  const fail = (reason: string, message: string, result: Result = poll): never => {
    conditions(ctx, binding).markFalse(ServiceBindingConditions.workloadProjected, reason, message);
    warn(ctx, binding, reason, message);
    throw new HaltSubReconcilers(reason, result);
  };
  const kindNotFound = (err: NoKindMatchError): never =>
    fail(
      ServiceBindingReasons.workloadKindNotFound,
      `the workload kind is not served: ${err.message}`,
      retry,
    );

  // RB-1/RB-2: the mapping of the workload resource; RB-4: a change to it enqueues this binding.
  let mapping: MappingSpec | undefined;
  try {
    const mappingName = await resolver.mappingName(type);
    if (mappingName !== undefined && !deleting) {
      config.tracker.trackReference(
        { ...clusterWorkloadResourceMappingType, name: mappingName },
        selfRef(binding),
      );
    }
    mapping = (await resolver.resolveMapping(type, ctx.signal)).spec;
  } catch (err) {
    if (deleting) {
      // RB-3: unprojection uses the mapping stashed on each workload; this is only the fallback.
      mapping = undefined;
    } else if (err instanceof NoKindMatchError) {
      kindNotFound(err);
    } else if (isForbidden(err)) {
      fail(
        ServiceBindingReasons.workloadForbidden,
        `the controller does not have permission to get the workload's mapping: ${await permission(
          options.resourceFor,
          clusterWorkloadResourceMappingType,
          'get',
          err,
        )}`,
      );
    } else {
      throw err;
    }
  }

  // A kind not watched from the start is checked before anything lists it: served, a workload,
  // and listable; then it is watched for as long as this binding names it.
  if (!options.watchedWorkloads.has(groupKind(type))) {
    let denied: WatchDenied | undefined;
    try {
      await options.resourceFor(type);
      const unsupported = unsupportedWorkloadKind(type, mapping !== undefined);
      if (unsupported !== undefined) {
        options.kindWatcher?.release(ctx.request, workloadSlot);
        // Nothing can have been projected into it.
        if (deleting) return;
        fail(ServiceBindingReasons.workloadKindNotSupported, unsupported);
      }
      denied = await options.kindWatcher?.watch(ctx.request, workloadSlot, type, {
        transform: workloadCacheTransform,
        signal: ctx.signal,
      });
    } catch (err) {
      if (!(err instanceof NoKindMatchError)) throw err;
      options.kindWatcher?.release(ctx.request, workloadSlot);
      if (deleting) return;
      kindNotFound(err);
    }
    if (denied !== undefined) {
      // Unbinding: what the controller may not list it cannot undo.
      if (deleting) return;
      fail(
        ServiceBindingReasons.workloadForbidden,
        `the controller may not watch the workloads: ${describeDenied(denied)}`,
        retry,
      );
    }
  }

  try {
    const workloads = await resolver.resolveWorkloads(binding, ctx.signal);
    ctx.stash.set(workloadsKey, { type, mapping, ...workloads });
  } catch (err) {
    // Unbinding: a kind that is gone, or out of reach, holds nothing we can undo.
    if (deleting && (isNotFound(err) || isForbidden(err) || err instanceof NoKindMatchError)) return;
    if (err instanceof NoKindMatchError) kindNotFound(err);
    if (isForbidden(err)) {
      fail(
        ServiceBindingReasons.workloadForbidden,
        `the controller does not have permission to list the workloads: ${await permission(
          options.resourceFor,
          type,
          'list',
          err,
        )}`,
        retry,
      );
    }
    throw err;
  }
}
