// The parts of the OSB requests about a ServiceInstance that come from the object: the `context`
// sent with provision and update, the properties recorded for an operation, and the query of a
// deprovision and of a `last_operation` poll.

import type { ReconcileContext } from '@bindery/runtime';
import type { ServiceInstance, ServiceInstanceStatus } from '../apis/index.ts';
import type { ResolvedParameters } from '../parameters/parameters.ts';
import { kubernetesContext } from '../platform/identity.ts';
import type { ResolvedPlan } from './instance-refs.ts';

/** The `context` object (OSB profile, Kubernetes platform). */
export async function requestContext(
  ctx: ReconcileContext,
  instance: ServiceInstance,
  clusterID: (ctx: ReconcileContext) => Promise<string>,
  namespaceAnnotations: Record<string, string> | undefined,
): Promise<Record<string, unknown>> {
  return kubernetesContext({
    namespace: instance.metadata.namespace ?? '',
    clusterID: await clusterID(ctx),
    instanceName: instance.metadata.name ?? '',
    instanceAnnotations: userAnnotations(instance.metadata.annotations),
    namespaceAnnotations: userAnnotations(namespaceAnnotations),
  });
}

/** What an operation is about to make true at the broker; recorded before it is sent. */
export function properties(instance: ServiceInstance, resolved: ResolvedPlan, params: ResolvedParameters) {
  return {
    planExternalName: resolved.plan.spec.externalName,
    planExternalID: resolved.plan.spec.externalID,
    parameters: params.redacted,
    parameterChecksum: params.checksum,
    ...(instance.spec.userInfo ? { userInfo: instance.spec.userInfo } : {}),
  };
}

export function deleteQuery(status: ServiceInstanceStatus): { service_id: string; plan_id: string } {
  return {
    service_id: status.classRef?.externalID ?? '',
    plan_id:
      status.inProgressProperties?.planExternalID ??
      status.externalProperties?.planExternalID ??
      status.planRef?.externalID ??
      '',
  };
}

/** The query of `GET …/last_operation` for the operation in status. */
export function lastOperationQuery(status: ServiceInstanceStatus): Record<string, string> {
  const query: Record<string, string> = {};
  if (status.classRef) query['service_id'] = status.classRef.externalID;
  // For an update, the plan before it (the spec says so); otherwise the plan being worked on.
  const planID =
    status.currentOperation === 'Update'
      ? status.externalProperties?.planExternalID
      : (status.inProgressProperties?.planExternalID ?? status.externalProperties?.planExternalID);
  if (planID) query['plan_id'] = planID;
  if (status.lastOperation) query['operation'] = status.lastOperation;
  return query;
}

/** Annotations worth sending: not kubectl's copy of the whole object. */
function userAnnotations(
  annotations: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (!annotations) return undefined;
  const out = Object.fromEntries(
    Object.entries(annotations).filter(([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration'),
  );
  return Object.keys(out).length ? out : undefined;
}
