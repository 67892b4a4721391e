// Step 3 of the ServiceBinding reconciler (the RI's ProjectBinding and PatchWorkloads): the binding
// projected into every targeted workload and taken out of the others (of all of them once it is
// deleted), each edit between the projection hooks, then written with the bindings package's
// write loop: a patch of what changed, never the whole workload.

import { writeSubjects } from '@bindery/bindings';
import type { SubjectChange } from '@bindery/bindings';
import { describeObject, errorMessage, isForbidden, isInvalid, isNotFound, refOf } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { DuckClient, SyncReconciler } from '@bindery/runtime';
import type { ReconcileContext } from '@bindery/runtime';
import { ServiceBindingReasons } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import { ProjectionError } from '../projector/index.ts';
import type { ResourceFor } from '../resolver/index.ts';
import { permission, projectionKey, secretNameKey, workloadsKey } from './binding-context.ts';
import type { WorkloadFailure } from './binding-context.ts';
import { envNameDenied } from './env-policy.ts';
import type { ProjectionHook, WorkloadHooks } from './projection-hooks.ts';
import { projectWorkload, unprojectWorkload, unprojectedOrUndefined } from './workload-projection.ts';

export interface ProjectWorkloadsOptions {
  resourceFor: ResourceFor;
  /** Run in order, rollout first. */
  hooks: readonly ProjectionHook[];
  deniedEnvNames: ReadonlySet<string>;
}

/** RI-1..RI-11, SB-22, RB-3, RB-9: stashes what happened (`projectionKey`) for the status. */
export function projectWorkloads(options: ProjectWorkloadsOptions): SyncReconciler<ServiceBinding> {
  return new SyncReconciler<ServiceBinding>({
    name: 'ProjectWorkloads',
    sync: (ctx, binding) => projectAll(ctx, binding, options, false),
    finalize: (ctx, binding) => projectAll(ctx, binding, options, true),
  });
}

async function projectAll(
  ctx: ReconcileContext,
  binding: ServiceBinding,
  options: ProjectWorkloadsOptions,
  deleting: boolean,
): Promise<void> {
  const workloads = ctx.stash.get(workloadsKey);
  if (workloads === undefined) return;
  const { type, mapping } = workloads;
  const secretName = deleting ? undefined : ctx.stash.get(secretNameKey);

  const notes: string[] = [];
  const hooks: WorkloadHooks[] = [];
  for (const hook of options.hooks) {
    const h = await hook.forBinding({ reconcile: ctx, binding, secretName, mapping, deleting });
    if (h === undefined) continue;
    hooks.push(h);
    if (h.note !== undefined) notes.push(h.note);
  }

  const failures: WorkloadFailure[] = [];
  const items = [
    ...workloads.targeted.map((w) => ({ original: w, bind: !deleting })),
    ...workloads.stale.map((w) => ({ original: w, bind: false })),
  ];
  const changes: SubjectChange[] = [];
  for (const { original, bind } of items) {
    const label = describeObject(original);
    let desired: KubeObject;
    try {
      desired = bind
        ? projectWorkload(binding, original, mapping, secretName, hooks, options.deniedEnvNames)
        : unprojectWorkload(binding, original, mapping, hooks);
    } catch (err) {
      if (!(err instanceof ProjectionError)) throw err;
      failures.push({ reason: err.code, message: `${label}: ${err.message}`, retry: false });
      // A denied variable may have been projected before the deny list was set: take it out.
      const undo =
        err.code === envNameDenied ? unprojectedOrUndefined(binding, original, mapping, hooks) : undefined;
      if (undo === undefined) continue;
      desired = undo;
    }
    changes.push({ original, desired });
  }

  // The fields a cache leaves out (status, the last-applied annotation) are never written back.
  const ducks = new DuckClient({ client: ctx.config.client });
  let conflicts = 0;
  for (const write of await writeSubjects(changes, { ducks, signal: ctx.signal })) {
    const { original } = write;
    const label = describeObject(original);
    if (write.outcome === 'conflict') {
      conflicts++; // RI-11: not reflected; a fresh read on the next reconcile will do.
    } else if (write.outcome === 'patched') {
      // The API server defaults some fields the projector leaves out: a patch that changed
      // nothing keeps the resourceVersion, and is not news.
      if (write.stored.metadata.resourceVersion !== original.metadata.resourceVersion) {
        ctx.originalConfig.recorder.event(binding, {
          type: 'Normal',
          reason: 'Updated',
          note: `Updated ${original.kind ?? type.kind} "${original.metadata.name ?? ''}"`,
        });
      }
    } else if (write.outcome === 'failed') {
      const err = write.error;
      if (isNotFound(err)) continue; // deleted while we worked: nothing left to project into
      failures.push(
        isForbidden(err)
          ? {
              reason: ServiceBindingReasons.workloadForbidden,
              message: `${label}: the controller does not have permission to patch the workloads: ${await permission(
                options.resourceFor,
                refOf(original),
                'patch',
                err,
              )}`,
              retry: false,
            }
          : {
              reason: ServiceBindingReasons.workloadUpdateFailed,
              message: `${label}: ${errorMessage(err)}`,
              // Invalid (422), e.g. a Job's immutable pod template: the same patch would be refused
              // again, so report it and wait for a change of the workload or the binding instead.
              retry: !isInvalid(err),
            },
      );
    }
  }
  ctx.stash.set(projectionKey, { failures, conflicts, notes });
}
