// What the steps of the ServiceBinding reconciler share: the stash entries one step leaves for the
// next, the resolver, the binding's conditions, and the wording of their messages.

import { errorMessage, parseApiVersion } from '@bindery/kube';
import type { KubeObject, ObjectRef, TypeRef } from '@bindery/kube';
import { StashKey } from '@bindery/runtime';
import type { ConditionManager, ReconcileContext, Result } from '@bindery/runtime';
import { serviceBindingConditions, serviceBindingType } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import type { MappingSpec } from '../projector/index.ts';
import { Resolver } from '../resolver/index.ts';
import type { ResourceFor, SecretAccess } from '../resolver/index.ts';

/** The resolved binding Secret; absent from the stash when the service exposes none. */
export const secretNameKey = new StashKey<string | undefined>('servicebinding.io/secret-name');
/** When to resolve the service again (a Provisioned Service nobody watches), unless sooner. */
export const pollKey = new StashKey<Result>('servicebinding.io/poll');

/** The workloads a binding targets, and those it was projected into and no longer targets. */
export interface ResolvedWorkloads {
  type: TypeRef;
  /** The mapping of the workload kind; on unprojection only the fallback for workloads without a stashed one (RB-3). */
  mapping: MappingSpec | undefined;
  targeted: KubeObject[];
  stale: KubeObject[];
  /** The workload named in `spec.workload.name` does not exist. */
  missing: boolean;
}
/** Absent when there is nothing to (un)project. */
export const workloadsKey = new StashKey<ResolvedWorkloads>('servicebinding.io/workloads');

/** One workload's problem, for the condition and an event. */
export interface WorkloadFailure {
  reason: string;
  message: string;
  /** A failed write worth retrying with backoff (not one that waits for a change). */
  retry: boolean;
}

/** What projecting did: the problems, the writes refused on a stale copy, notes for the condition. */
export interface ProjectionOutcome {
  failures: WorkloadFailure[];
  conflicts: number;
  notes: string[];
}
export const projectionKey = new StashKey<ProjectionOutcome>('servicebinding.io/projection');

/** The on-demand watch slots a binding holds. */
export const serviceSlot = 'service';
export const workloadSlot = 'workload';

export function newResolver(
  ctx: ReconcileContext,
  resourceFor: ResourceFor,
  secretAccess: SecretAccess = 'metadata',
): Resolver {
  return new Resolver({
    apiReader: ctx.config.apiReader,
    cacheReader: ctx.config.client,
    resourceFor,
    secretAccess,
  });
}

export function conditions(ctx: ReconcileContext, binding: ServiceBinding): ConditionManager {
  return serviceBindingConditions.manage(statusOf(binding), ctx.config.clock);
}

export function statusOf(binding: ServiceBinding): Record<string, unknown> {
  const obj: KubeObject = binding;
  if (typeof obj['status'] !== 'object' || obj['status'] === null) obj['status'] = {};
  return obj['status'] as Record<string, unknown>;
}

export function warn(ctx: ReconcileContext, binding: ServiceBinding, reason: string, note: string): void {
  ctx.originalConfig.recorder.event(binding, { type: 'Warning', reason, note });
}

/** The binding, as what tracks its service, Secret, workloads and mapping. */
export function selfRef(binding: ServiceBinding): ObjectRef {
  return {
    apiVersion: binding.apiVersion ?? serviceBindingType.apiVersion,
    kind: binding.kind ?? serviceBindingType.kind,
    namespace: binding.metadata.namespace ?? '',
    name: binding.metadata.name ?? '',
  };
}

/** `needs "get" on provisionedbackends.stable.example.com (<the API server's message>)`. */
export async function permission(
  resourceFor: ResourceFor,
  ref: TypeRef,
  verb: string,
  err: unknown,
): Promise<string> {
  let resource = `${ref.kind}.${parseApiVersion(ref.apiVersion).group}`;
  try {
    const info = await resourceFor(ref);
    resource = info.group === '' ? info.resource : `${info.resource}.${info.group}`;
  } catch {
    // The kind's name will do.
  }
  return `needs "${verb}" on ${resource} (${errorMessage(err)})`;
}

/** `60 s`, `0.3 s`. */
export function formatSeconds(ms: number): string {
  return `${ms / 1000} s`;
}
