// What the manager's workload caches keep. Workloads are only ever patched with what a binding
// changes (`writeSubjects`), never written back whole, so kubectl's last-applied annotation (a full
// copy of the applied object) need not be held; nor `.status` of the built-in kinds, which the
// controller never reads and no Provisioned Service is. A kind that is both a workload and a
// service keeps its status for the resolver.

import {
  chainTransforms,
  groupKind,
  stripLastAppliedAnnotation,
  stripManagedFields,
  stripStatus,
} from '@bindery/kube';
import type { TransformFunc, TypeRef } from '@bindery/kube';
import type { Manager } from '@bindery/runtime';
import { defaultSubjectTypes } from '@bindery/bindings';

/** For any workload kind, also those watched on demand. */
export const workloadCacheTransform: TransformFunc = chainTransforms(
  stripManagedFields,
  stripLastAppliedAnnotation,
);

/** For the built-in workload kinds (`defaultSubjectTypes`). */
export const builtInWorkloadCacheTransform: TransformFunc = chainTransforms(
  workloadCacheTransform,
  stripStatus,
);

/** Sets the transforms of `workloadTypes` that are not also `serviceTypes`, before any informer of them starts. */
export function trimWorkloadCaches(
  manager: Pick<Manager, 'informers' | 'log'>,
  workloadTypes: readonly TypeRef[],
  serviceTypes: readonly TypeRef[],
): void {
  const services = new Set(serviceTypes.map(groupKind));
  const builtIn = new Set(defaultSubjectTypes.map(groupKind));
  for (const type of workloadTypes) {
    const gk = groupKind(type);
    if (services.has(gk)) continue;
    try {
      manager.informers.setTransform(
        type,
        builtIn.has(gk) ? builtInWorkloadCacheTransform : workloadCacheTransform,
      );
    } catch (err) {
      // Another controller of this manager asked for the informer first: its cache stays whole.
      manager.log.info({ err, kind: type.kind }, 'workload cache kept whole');
    }
  }
}
