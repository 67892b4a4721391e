// Step 4 of the ServiceBinding reconciler: `WorkloadProjected` from what projecting did (SB-23:
// partial failures aggregated, naming every failing workload); failed writes worth retrying are
// retried with backoff; a conflict requeues. While the binding is deleted, the finalizer stays
// until every workload is unprojected, except where the controller may not write.

import { SyncReconciler, aggregateResults } from '@bindery/runtime';
import type { Result } from '@bindery/runtime';
import { ServiceBindingConditions, ServiceBindingReasons } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import { workloadSelector } from '../resolver/index.ts';
import { conditions, pollKey, projectionKey, warn, workloadsKey } from './binding-context.ts';

export interface ReportStatusOptions {
  /** How soon a binding whose workloads the controller may not patch is tried again. */
  pollMs: number;
}

export function reportStatus(options: ReportStatusOptions): SyncReconciler<ServiceBinding> {
  return new SyncReconciler<ServiceBinding>({
    name: 'ReportStatus',
    sync: (ctx, binding): Result => {
      const workloads = ctx.stash.get(workloadsKey);
      const outcome = ctx.stash.get(projectionKey);
      if (workloads === undefined || outcome === undefined) return {};
      const { type } = workloads;
      const namespace = binding.metadata.namespace ?? '';
      const poll = ctx.stash.get(pollKey) ?? {};
      const { conflicts, notes } = outcome;
      const failures = [...outcome.failures];
      for (const f of failures) warn(ctx, binding, f.reason, f.message);
      const cond = conditions(ctx, binding);

      if (workloads.missing) {
        // AMB-1 / RI-12: reflected, and False as the spec says; the tracker enqueues on creation.
        const message = `the workload was not found: ${type.kind} "${binding.spec.workload.name ?? ''}" in namespace "${namespace}"`;
        failures.unshift({ reason: ServiceBindingReasons.workloadNotFound, message, retry: false });
        warn(ctx, binding, ServiceBindingReasons.workloadNotFound, message);
      }
      const first = failures[0];
      if (first !== undefined) {
        const total = workloads.targeted.length + workloads.stale.length;
        const prefix =
          failures.length > 1 || total > 1
            ? `${failures.length} of ${Math.max(total, failures.length)} workloads failed: `
            : '';
        cond.markFalse(
          ServiceBindingConditions.workloadProjected,
          first.reason,
          `${prefix}${failures.map((f) => f.message).join('; ')}`,
        );
        const retry = failures.find((f) => f.retry);
        if (retry !== undefined) throw new Error(retry.message);
        if (conflicts > 0) return { requeue: true };
        // No watch event follows a ClusterRole granting `patch`: try again, as for a kind not allowed.
        const forbidden = failures.some((f) => f.reason === ServiceBindingReasons.workloadForbidden);
        return forbidden ? aggregateResults(poll, { requeueAfterMs: options.pollMs }) : poll;
      }
      if (conflicts > 0) return { requeue: true };
      const message = [
        ...(workloads.targeted.length === 0
          ? [
              `no ${type.kind} in namespace "${namespace}" matches the selector ${workloadSelector(binding)?.toString() ?? ''}`,
            ]
          : []),
        ...notes,
      ].join('; ');
      cond.markTrue(
        ServiceBindingConditions.workloadProjected,
        ServiceBindingReasons.workloadProjected,
        message,
      );
      return poll;
    },
    finalize: (ctx, binding): Result => {
      const outcome = ctx.stash.get(projectionKey);
      if (outcome === undefined) return {};
      for (const f of outcome.failures) warn(ctx, binding, f.reason, f.message);
      const blocking = outcome.failures.filter((f) => f.reason !== ServiceBindingReasons.workloadForbidden);
      if (blocking.length > 0) throw new Error(`unprojecting: ${blocking.map((f) => f.message).join('; ')}`);
      // Not a requeue: a finalize that returns removes the finalizer.
      if (outcome.conflicts > 0) {
        throw new Error(`${outcome.conflicts} workload(s) changed while being unprojected; retrying`);
      }
      return {};
    },
  });
}
