// What the ServiceBinding controller reads and writes besides the schema (the RI's
// servicebinding_lifecycle.go): its finalizer, its conditions and their reasons, and Bindery's
// rollout annotations.

import type { TypeRef } from '@bindery/kube';
import { ConditionSet } from '@bindery/runtime';
import { group, storageVersion } from './group.ts';
import { serviceBindingKind } from './servicebinding.ts';

export const serviceBindingType: TypeRef = {
  apiVersion: `${group}/${storageVersion}`,
  kind: serviceBindingKind,
};

/** The RI's finalizer: held until the binding is unprojected from every workload. */
export const serviceBindingFinalizer = 'servicebinding.io/finalizer';

/** Opt-in: `"true"` on a binding rolls its workloads when the bound Secret changes (docs/rollout.md). */
export const rolloutAnnotation = 'bindery.dev/rollout-on-secret-change';

/** Pod-template annotation holding the bound Secret's resourceVersion: `<prefix><binding uid>`. */
export const secretVersionAnnotationPrefix = 'bindery.dev/secret-version-';
export const secretVersionAnnotation = (uid: string): string => `${secretVersionAnnotationPrefix}${uid}`;

export const ServiceBindingConditions = {
  ready: 'Ready',
  serviceAvailable: 'ServiceAvailable',
  workloadProjected: 'WorkloadProjected',
} as const;

/**
 * Reasons: the RI's strings, plus `InvalidSpec`, `WorkloadUpdateFailed`, `WorkloadKindNotFound`,
 * `WorkloadKindNotSupported`, `ProjectionPending` and projection error codes.
 */
export const ServiceBindingReasons = {
  serviceBound: 'ServiceBound',
  resolvedBindingSecret: 'ResolvedBindingSecret',
  serviceNotFound: 'ServiceNotFound',
  serviceForbidden: 'ServiceForbidden',
  serviceMissingBinding: 'ServiceMissingBinding',
  workloadNotFound: 'WorkloadNotFound',
  workloadForbidden: 'WorkloadForbidden',
  workloadKindNotFound: 'WorkloadKindNotFound',
  workloadKindNotSupported: 'WorkloadKindNotSupported',
  workloadProjected: 'WorkloadProjected',
  projectionPending: 'ProjectionPending',
  workloadUpdateFailed: 'WorkloadUpdateFailed',
  invalidSpec: 'InvalidSpec',
} as const;

/**
 * SB-18/SB-19: `Ready` derived from `ServiceAvailable` and `WorkloadProjected`, which start as
 * Unknown/`Initializing`.
 */
export const serviceBindingConditions = new ConditionSet({
  happy: ServiceBindingConditions.ready,
  happyReason: ServiceBindingReasons.serviceBound,
  dependents: [ServiceBindingConditions.serviceAvailable, ServiceBindingConditions.workloadProjected],
  // Not reset on every reconcile (the RI does): a conflict on a workload update must not be
  // reflected (RI-11), so a condition nobody marks keeps its last value.
  resetOnInitialize: false,
});
