// Extension points around projection (the RI's lifecycle hooks: ServiceBindingPreProjection,
// WorkloadPreProjection, WorkloadPostProjection, …). The controller asks each hook once per
// reconcile of a binding for its workload hooks, which then edit each workload's copy before and
// after the binding is projected into it, or taken out of it, and before it is patched. Rollout
// (`rolloutHook`) is the built-in one. Hooks run in the controller; the admission webhook projects
// without them.

import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext } from '@bindery/runtime';
import type { ServiceBinding } from '../apis/index.ts';
import type { MappingSpec } from '../projector/index.ts';

export interface BindingHookContext {
  /** The reconcile: its client (the cache), `apiReader`, log and signal. */
  reconcile: ReconcileContext;
  /** Read it; edits to it are written to its status. */
  binding: ServiceBinding;
  /** The bound Secret; undefined when the service exposes none, and while the binding is deleted. */
  secretName: string | undefined;
  /** The mapping of the workload kind (on unprojection, the fallback for workloads without a stashed one). */
  mapping: MappingSpec | undefined;
  /** The binding is being deleted: every workload is unprojected. */
  deleting: boolean;
}

/**
 * Edits of one workload's copy, in place. A `ProjectionError` thrown here fails that workload
 * (its code is the condition's reason); any other error fails the reconcile, retried with backoff.
 */
export interface WorkloadHooks {
  /** Before the binding is projected: the copy is as read. */
  preProjection?(workload: KubeObject): void;
  /** After the binding is projected, before the workload is patched. */
  postProjection?(workload: KubeObject): void;
  /** Before the binding is taken out: it still carries the projection and its mapping stash. */
  preUnprojection?(workload: KubeObject): void;
  /** After the binding is taken out, before the workload is patched. */
  postUnprojection?(workload: KubeObject): void;
}

export interface ProjectionHook {
  /** Names the hook in errors. */
  name: string;
  /**
   * Once per reconcile of a binding, before any of its workloads (the RI's ServiceBinding
   * pre-projection hook): reads what the workload hooks need, and returns them (nothing: no edit).
   * `note`, when set, is added to the `WorkloadProjected` message of a binding that projected.
   */
  forBinding(
    ctx: BindingHookContext,
  ):
    | (WorkloadHooks & { note?: string })
    | undefined
    | Promise<(WorkloadHooks & { note?: string }) | undefined>;
}
