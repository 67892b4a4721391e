// One workload's projection as the controller and the admission webhook make it: the projector's
// `project`/`unproject` on a copy, between the projection hooks, plus the API server's defaults on
// the fieldRefs the projector owns.

import { isObject } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { deepCopy } from '@bindery/runtime';
import type { ServiceBinding } from '../apis/index.ts';
import { ProjectionError, isProjected, project, unproject } from '../projector/index.ts';
import type { MappingSpec } from '../projector/index.ts';
import { checkDeniedEnv } from './env-policy.ts';
import type { WorkloadHooks } from './projection-hooks.ts';
import { rolloutWorkloadHooks } from './rollout.ts';

/**
 * A copy of `workload` with the binding projected (taken out when `secretName` is undefined,
 * AMB-2, between the unprojection hooks). Throws a ProjectionError (`EnvNameDenied`) if `spec.env` names a denied variable.
 */
export function projectWorkload(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
  secretName: string | undefined,
  hooks: readonly WorkloadHooks[],
  deniedEnvNames: ReadonlySet<string> = new Set(),
): KubeObject {
  if (secretName !== undefined) checkDeniedEnv(binding, deniedEnvNames);
  const copy = deepCopy(workload);
  // Without a Secret, `project` takes the binding out: the unprojection hooks run.
  const projecting = secretName !== undefined;
  for (const h of hooks) {
    if (projecting) h.preProjection?.(copy);
    else h.preUnprojection?.(copy);
  }
  const desired = project(binding, copy, mapping, secretName) as KubeObject;
  for (const h of hooks) {
    if (projecting) h.postProjection?.(desired);
    else h.postUnprojection?.(desired);
  }
  defaultProjectedFieldRefs(desired);
  return desired;
}

/** A copy of `workload` without the binding. */
export function unprojectWorkload(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
  hooks: readonly WorkloadHooks[],
): KubeObject {
  const copy = deepCopy(workload);
  for (const h of hooks) h.preUnprojection?.(copy);
  const desired = unproject(binding, copy, mapping) as KubeObject;
  for (const h of hooks) h.postUnprojection?.(desired);
  return desired;
}

/**
 * `projectWorkload` with rollout's record of `secretVersion` as the only hook: what the admission
 * webhook writes.
 */
export function bindWorkload(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
  secretName: string | undefined,
  secretVersion: string | undefined,
  deniedEnvNames: ReadonlySet<string> = new Set(),
): KubeObject {
  const version = secretName === undefined ? undefined : secretVersion;
  const hooks = [rolloutWorkloadHooks(binding, mapping, version)];
  return projectWorkload(binding, workload, mapping, secretName, hooks, deniedEnvNames);
}

/** `unproject`, and rollout's record goes too. */
export function unbindWorkload(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
): KubeObject {
  return unprojectWorkload(binding, workload, mapping, [rolloutWorkloadHooks(binding, mapping, undefined)]);
}

/** `workload` without this binding if it carries it; undefined if not, or if that cannot be done. */
export function unprojectedOrUndefined(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
  hooks: readonly WorkloadHooks[] = [rolloutWorkloadHooks(binding, mapping, undefined)],
): KubeObject | undefined {
  if (!isProjected(binding, workload)) return undefined;
  try {
    return unprojectWorkload(binding, workload, mapping, hooks);
  } catch (err) {
    if (err instanceof ProjectionError) return undefined;
    throw err;
  }
}

/**
 * The API server defaults `fieldRef.apiVersion` to `v1` in pod templates; writing it ourselves on
 * the fieldRefs the projector owns keeps a re-projection equal to what is stored (no endless updates).
 */
function defaultProjectedFieldRefs(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) defaultProjectedFieldRefs(v);
    return;
  }
  if (!isObject(value)) return;
  const ref = value['fieldRef'];
  if (isObject(ref)) {
    const path = ref['fieldPath'];
    if (
      typeof path === 'string' &&
      path.startsWith("metadata.annotations['projector.servicebinding.io/") &&
      ref['apiVersion'] === undefined
    ) {
      ref['apiVersion'] = 'v1';
    }
  }
  for (const v of Object.values(value)) defaultProjectedFieldRefs(v);
}
