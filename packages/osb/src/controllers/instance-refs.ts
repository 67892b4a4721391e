// Which class and plan a ServiceInstance asks for: by OSB name (`…ExternalName`) or by object name
// (`…Name`), cluster-scoped or in the instance's namespace. Errors say which field names what that
// does not exist, is ambiguous, or does not belong together.

import { isNotFound } from '@bindery/kube';
import type { KubeObject, ObjectRef } from '@bindery/kube';
import type { Client, ReconcileContext } from '@bindery/runtime';
import {
  apiVersion,
  clusterServiceClassKind,
  clusterServicePlanKind,
  serviceClassKind,
  serviceInstanceKind,
  servicePlanKind,
} from '../apis/index.ts';
import type {
  ClusterServiceClass,
  ClusterServicePlan,
  ServiceClass,
  ServiceCredentialBinding,
  ServiceInstance,
  ServicePlan,
} from '../apis/index.ts';
import type { BrokerReference } from '../platform/broker-api.ts';

export type AnyClass = ClusterServiceClass | ServiceClass;
export type AnyPlan = ClusterServicePlan | ServicePlan;

export interface ResolvedPlan {
  serviceClass: AnyClass;
  plan: AnyPlan;
  broker: BrokerReference;
}

export class ReferenceError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'ReferenceError';
    this.reason = reason;
  }
}

export const classTypes = {
  cluster: { apiVersion, kind: clusterServiceClassKind },
  namespaced: { apiVersion, kind: serviceClassKind },
} as const;
export const planTypes = {
  cluster: { apiVersion, kind: clusterServicePlanKind },
  namespaced: { apiVersion, kind: servicePlanKind },
} as const;

/** Resolves the class and plan of `instance` from the informer caches of `client`. */
export async function resolvePlan(
  client: Client,
  instance: ServiceInstance,
  signal: AbortSignal,
): Promise<ResolvedPlan> {
  const spec = instance.spec;
  const namespace = instance.metadata.namespace ?? '';
  const who = `ServiceInstance ${namespace}/${instance.metadata.name ?? ''}`;
  const cluster =
    spec.clusterServiceClassExternalName !== undefined || spec.clusterServiceClassName !== undefined;
  const classType = cluster ? classTypes.cluster : classTypes.namespaced;
  const planType = cluster ? planTypes.cluster : planTypes.namespaced;
  const scope = cluster ? {} : { namespace };

  const className = spec.clusterServiceClassName ?? spec.serviceClassName;
  const classExternal = spec.clusterServiceClassExternalName ?? spec.serviceClassExternalName;
  const planName = spec.clusterServicePlanName ?? spec.servicePlanName;
  const planExternal = spec.clusterServicePlanExternalName ?? spec.servicePlanExternalName;
  const classField = cluster
    ? className !== undefined
      ? 'spec.clusterServiceClassName'
      : 'spec.clusterServiceClassExternalName'
    : className !== undefined
      ? 'spec.serviceClassName'
      : 'spec.serviceClassExternalName';
  const planField = classField.replace('Class', 'Plan');

  let serviceClass: AnyClass | undefined;
  if (className !== undefined) {
    serviceClass = await getOrUndefined<AnyClass>(
      client,
      { ...classType, ...scope, name: className },
      signal,
    );
  } else if (classExternal !== undefined) {
    const matches = (await client.list<AnyClass>(classType, { ...scope, signal })).items.filter(
      (c) => c.spec.externalName === classExternal,
    );
    if (matches.length > 1) {
      throw new ReferenceError(
        'AmbiguousServiceClass',
        `${who}: ${classField} ${JSON.stringify(classExternal)} names ${matches.length} ${classType.kind}s (${matches
          .map((c) => c.metadata.name)
          .join(', ')}); name one by ${classField.replace('ExternalName', 'Name')}`,
      );
    }
    serviceClass = matches[0];
  } else {
    throw new ReferenceError('InvalidSpec', `${who}: no class is named (set a class and a plan field)`);
  }
  if (!serviceClass) {
    throw new ReferenceError(
      'ReferencesNonexistentServiceClass',
      `${who}: ${classField}: no ${classType.kind} ${JSON.stringify(className ?? classExternal)}`,
    );
  }
  const classObjectName = serviceClass.metadata.name ?? '';
  const plan =
    planName !== undefined
      ? await getOrUndefined<AnyPlan>(client, { ...planType, ...scope, name: planName }, signal)
      : (await client.list<AnyPlan>(planType, { ...scope, signal })).items.find(
          (p) => planClassName(p) === classObjectName && p.spec.externalName === planExternal,
        );
  if (!plan) {
    throw new ReferenceError(
      'ReferencesNonexistentServicePlan',
      `${who}: ${planField}: no ${planType.kind} ${JSON.stringify(planName ?? planExternal)} of ${classType.kind} ${JSON.stringify(
        classObjectName,
      )}`,
    );
  }
  if (planClassName(plan) !== classObjectName) {
    throw new ReferenceError(
      'PlanNotInClass',
      `${who}: ${planField}: ${planType.kind} ${JSON.stringify(plan.metadata.name)} belongs to ${JSON.stringify(
        planClassName(plan),
      )}, not to ${classType.kind} ${JSON.stringify(classObjectName)}`,
    );
  }
  return { serviceClass, plan, broker: brokerOf(serviceClass) };
}

/** One object from the informer cache by name; `undefined` when there is none. */
export function getCached<T extends KubeObject>(
  ctx: ReconcileContext,
  ref: ObjectRef,
): Promise<T | undefined> {
  return getOrUndefined<T>(ctx.config.client, ref, ctx.signal);
}

async function getOrUndefined<T extends KubeObject>(
  client: Client,
  ref: ObjectRef,
  signal: AbortSignal,
): Promise<T | undefined> {
  try {
    return await client.get<T>(ref, { signal });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function planClassName(plan: AnyPlan): string {
  return 'clusterServiceClassRef' in plan.spec
    ? plan.spec.clusterServiceClassRef.name
    : plan.spec.serviceClassRef.name;
}

export function brokerOf(serviceClass: AnyClass): BrokerReference {
  if ('clusterServiceBrokerName' in serviceClass.spec) {
    return { kind: 'ClusterServiceBroker', name: serviceClass.spec.clusterServiceBrokerName };
  }
  return {
    kind: 'ServiceBroker',
    name: serviceClass.spec.serviceBrokerName,
    namespace: serviceClass.metadata.namespace ?? '',
  };
}

/** `plan_updateable`: the plan's value overrides the offering's; default false. */
export function planUpdateable(serviceClass: AnyClass, plan: AnyPlan): boolean {
  return plan.spec.planUpdateable ?? serviceClass.spec.planUpdateable ?? false;
}

/** `bindable`: the plan's value overrides the offering's. */
export function bindable(serviceClass: AnyClass, plan: AnyPlan): boolean {
  return plan.spec.bindable ?? serviceClass.spec.bindable ?? false;
}

/** The class a ServiceInstance recorded in status (what it was provisioned from), if it still exists. */
export async function recordedClass(
  ctx: ReconcileContext,
  instance: ServiceInstance,
): Promise<AnyClass | undefined> {
  const ref = instance.status?.classRef;
  if (!ref) return undefined;
  const cluster = ref.kind === 'ClusterServiceClass';
  return getCached<AnyClass>(ctx, {
    ...(cluster ? classTypes.cluster : classTypes.namespaced),
    ...(cluster ? {} : { namespace: instance.metadata.namespace ?? '' }),
    name: ref.name,
  });
}

/** The class and plan a ServiceInstance resolved (its status), once both exist. */
export async function recordedClassAndPlan(
  ctx: ReconcileContext,
  instance: ServiceInstance,
): Promise<{ serviceClass: AnyClass; plan: AnyPlan } | undefined> {
  const classRef = instance.status?.classRef;
  const planRef = instance.status?.planRef;
  if (!classRef || !planRef) return undefined;
  const cluster = classRef.kind === 'ClusterServiceClass';
  const scope = cluster ? {} : { namespace: instance.metadata.namespace ?? '' };
  const serviceClass = await getCached<AnyClass>(ctx, {
    ...(cluster ? classTypes.cluster : classTypes.namespaced),
    ...scope,
    name: classRef.name,
  });
  const plan = await getCached<AnyPlan>(ctx, {
    ...(cluster ? planTypes.cluster : planTypes.namespaced),
    ...scope,
    name: planRef.name,
  });
  return serviceClass && plan ? { serviceClass, plan } : undefined;
}

/** The ServiceInstance a ServiceCredentialBinding names, from the cache. */
export async function boundInstance(
  ctx: ReconcileContext,
  binding: ServiceCredentialBinding,
): Promise<ServiceInstance | undefined> {
  return getCached<ServiceInstance>(ctx, {
    apiVersion,
    kind: serviceInstanceKind,
    namespace: binding.metadata.namespace ?? '',
    name: binding.spec.instanceRef.name,
  });
}
