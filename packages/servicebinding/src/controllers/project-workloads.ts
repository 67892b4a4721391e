// Step 3 of the ServiceBinding reconciler (the RI's ProjectBinding and PatchWorkloads): the binding
// projected into every targeted workload and taken out of the others (of all of them once it is
// deleted), each edit between the projection hooks, then written with the bindings package's
// write loop: a patch of what changed, never the whole workload.

import { writeSubjects } from '@bindery/bindings';
import type { SubjectChange } from '@bindery/bindings';
import { describeObject, errorMessage, isForbidden, isInvalid, isNotFound, refOf } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { DuckClient, SyncReconciler, deepEqual } from '@bindery/runtime';
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
  /** How each change's desired object was made from its original, to check the stored answer with. */
  const edits = new Map<SubjectChange, (w: KubeObject) => KubeObject>();
  for (const { original, bind } of items) {
    const label = describeObject(original);
    let edit = (w: KubeObject): KubeObject =>
      bind
        ? projectWorkload(binding, w, mapping, secretName, hooks, options.deniedEnvNames)
        : unprojectWorkload(binding, w, mapping, hooks);
    let desired: KubeObject;
    try {
      desired = edit(original);
    } catch (err) {
      if (!(err instanceof ProjectionError)) throw err;
      failures.push({ reason: err.code, message: `${label}: ${err.message}`, retry: false });
      // A denied variable may have been projected before the deny list was set: take it out.
      const undo =
        err.code === envNameDenied ? unprojectedOrUndefined(binding, original, mapping, hooks) : undefined;
      if (undo === undefined) continue;
      desired = undo;
      edit = (w) => unprojectedOrUndefined(binding, w, mapping, hooks) ?? w;
    }
    const change = { original, desired };
    changes.push(change);
    edits.set(change, edit);
  }

  // The fields a cache leaves out (status, the last-applied annotation) are never written back.
  const ducks = new DuckClient({ client: ctx.config.client });
  let conflicts = 0;
  const writes = await writeSubjects(changes, {
    ducks,
    signal: ctx.signal,
    // The API server answers with the workload as stored, after mutating admission. If editing it
    // again still changes it, a webhook that has not seen this binding's latest state (the
    // interceptor's index lags behind the controller) undid the edit: a conflict, tried again.
    reverted: (stored, change) => {
      const edit = edits.get(change);
      if (edit === undefined) return false;
      try {
        return !deepEqual(stored, edit(stored));
      } catch (err) {
        if (err instanceof ProjectionError) return false; // reported from the next read
        throw err;
      }
    },
  });
  for (const write of writes) {
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
