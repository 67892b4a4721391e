// The ServiceInstance controller: provisions, updates and deprovisions at the broker, polls
// `last_operation` of asynchronous operations, and orphan-mitigates exactly as the OSB 2.17 table
// says (operations/orphan-mitigation.ts). Each operation is recorded in status before it is sent, so
// a restart resumes it; a terminal failure is parked until the spec changes; every other failure is
// retried with the work queue's backoff. Deletion deprovisions (finalizer) once no credential
// binding of the instance is left.

import type { KubeObject } from '@bindery/kube';
import { clearFinalizer, enqueueTracked } from '@bindery/runtime';
import type { ResourceReconciler } from '@bindery/runtime';
import type { ReconcileContext, Result } from '@bindery/runtime';
import { apiVersion, finalizer, serviceCredentialBindingKind, serviceInstanceKind } from '../apis/index.ts';
import type { ServiceCredentialBinding, ServiceInstance, ServiceInstanceStatus } from '../apis/index.ts';
import { interpretOutcome } from '../operations/orphan-mitigation.ts';
import type { Interpretation, OsbRequestType } from '../operations/orphan-mitigation.ts';
import type { ResolvedParameters } from '../parameters/parameters.ts';
import { checkParameters } from '../parameters/schema.ts';
import type { BrokerApi, BrokerCallResult } from '../platform/broker-api.ts';
import { originatingIdentity } from '../platform/identity.ts';
import {
  ReferenceError,
  brokerOf,
  classTypes,
  planTypes,
  planUpdateable,
  recordedClass,
  resolvePlan,
} from './instance-refs.ts';
import { deleteQuery, lastOperationQuery, properties, requestContext } from './instance-request.ts';
import type { AnyClass, ResolvedPlan } from './instance-refs.ts';
import * as op from './broker-operation.ts';
import { conditionTypes, conditionsOf, isLatest, park, parked, staleRequeue } from './operation-status.ts';
import { clusterIDReader, namespaceInfo } from './cluster-info.ts';

export const serviceInstanceType = { apiVersion, kind: serviceInstanceKind } as const;
export const serviceCredentialBindingType = { apiVersion, kind: serviceCredentialBindingKind } as const;

/** `missingReferenceRetryMs`: how long to wait before looking again for a class, plan or broker that is missing. */
export type ServiceInstanceReconcilerOptions = op.BrokerOperationOptions;

/** Ready reasons, as a user reads them in `kubectl get serviceinstance`. */
export const InstanceReasons = {
  provisioned: 'Provisioned',
  updated: 'Updated',
  provisionInFlight: 'ProvisionRequestInFlight',
  updateInFlight: 'UpdateRequestInFlight',
  deprovisionInFlight: 'DeprovisionRequestInFlight',
  provisioning: 'Provisioning',
  updating: 'Updating',
  deprovisioning: 'Deprovisioning',
  deprovisioned: 'Deprovisioned',
  orphanMitigation: op.orphanMitigationReasons.starting,
  orphanMitigationFailed: op.orphanMitigationReasons.failed,
  orphanMitigationSucceeded: op.orphanMitigationReasons.succeeded,
  blockedByBindings: 'DeprovisionBlockedByExistingCredentials',
  invalidParameters: 'InvalidParameters',
  invalidPlanSchema: 'InvalidPlanSchema',
  planNotUpdateable: 'PlanChangeNotAllowed',
  removedFromCatalog: 'ReferencesRemovedPlan',
  pollingTimedOut: 'PollingTimedOut',
} as const;

const operationOf = { Provision: 'provision', Update: 'update', Deprovision: 'deprovision' } as const;
const progressReason = {
  Provision: InstanceReasons.provisioning,
  Update: InstanceReasons.updating,
  Deprovision: InstanceReasons.deprovisioning,
} as const;

/** The ServiceInstance reconciler. Register it with a Controller `for` `serviceInstanceType`. */
export function serviceInstanceReconciler(
  options: ServiceInstanceReconcilerOptions,
): ResourceReconciler<ServiceInstance> {
  const polling = options.polling ?? {};
  const missingRetryMs = options.missingReferenceRetryMs ?? 30_000;
  const clusterID = clusterIDReader(options.clusterID);
  return op.brokerOperationReconciler<ServiceInstance>({
    name: 'ServiceInstance',
    type: serviceInstanceType,
    setup: (ctx) => {
      // A binding that goes away may unblock the deprovision of its instance.
      ctx.builder.watches(serviceCredentialBindingType, (obj) => {
        const b = obj as ServiceCredentialBinding;
        const name = b.spec?.instanceRef?.name;
        return name && b.metadata.namespace ? [{ namespace: b.metadata.namespace, name }] : [];
      });
      // A class or plan that appears wakes the instances waiting for it (tracked in reconcile).
      for (const type of [classTypes.cluster, classTypes.namespaced, planTypes.cluster, planTypes.namespaced])
        ctx.builder.watches(type, enqueueTracked(ctx));
    },
    reconcile: reconcileInstance,
  });

  async function reconcileInstance(ctx: ReconcileContext, instance: ServiceInstance): Promise<Result> {
    const status = (instance.status ??= {});
    const cm = conditionsOf(ctx, status);
    const deleting = instance.metadata.deletionTimestamp !== undefined;
    status.externalID ??= instance.spec.externalID ?? instance.metadata.uid ?? '';
    const who = describe(instance);

    if (status.asyncOpInProgress || status.orphanMitigationInProgress || deleting) {
      if (
        deleting &&
        !status.asyncOpInProgress &&
        !status.orphanMitigationInProgress &&
        !deprovisionRequired(status)
      ) {
        await clearFinalizer(ctx, instance, finalizer);
        return {};
      }
      const serviceClass = await recordedClass(ctx, instance);
      if (!serviceClass) {
        cm.markFalse(
          conditionTypes.ready,
          'ReferencesNonexistentServiceClass',
          `${who}: class ${status.classRef?.name ?? '?'} is gone`,
        );
        return { requeueAfterMs: missingRetryMs };
      }
      if (!(await isLatest(ctx, instance))) return staleRequeue;
      const api = await brokerApi(ctx, instance, serviceClass);
      if (status.asyncOpInProgress) return poll(ctx, instance, api);
      if (status.orphanMitigationInProgress) return mitigate(ctx, instance, api);
      return deprovision(ctx, instance, api);
    }
    if (parked(cm, status, instance.metadata.generation)) return {};

    let resolved: ResolvedPlan;
    try {
      resolved = await resolvePlan(ctx.config.client, instance, ctx.signal);
    } catch (err) {
      if (!(err instanceof ReferenceError)) throw err;
      cm.markFalse(conditionTypes.ready, err.reason, err.message);
      trackCatalog(ctx, instance);
      return { requeueAfterMs: missingRetryMs };
    }
    const { serviceClass, plan } = resolved;
    status.classRef = {
      kind: serviceClass.kind as 'ClusterServiceClass',
      name: serviceClass.metadata.name ?? '',
      externalName: serviceClass.spec.externalName,
      externalID: serviceClass.spec.externalID,
    };
    status.planRef = {
      kind: plan.kind as 'ClusterServicePlan',
      name: plan.metadata.name ?? '',
      externalName: plan.spec.externalName,
      externalID: plan.spec.externalID,
    };

    const params = await op.specParameters(ctx, instance, who);
    if (!params) return { requeueAfterMs: missingRetryMs };

    const provisioned = status.provisionStatus === 'Provisioned';
    const external = status.externalProperties ?? {};
    const planChanged = provisioned && plan.spec.externalID !== external.planExternalID;
    const paramsChanged = provisioned && params.checksum !== external.parameterChecksum;
    const updateRequested =
      provisioned && (instance.spec.updateRequests ?? 0) !== (status.observedUpdateRequests ?? 0);
    if (provisioned && !planChanged && !paramsChanged && !updateRequested) {
      if (cm.get(conditionTypes.ready)?.status !== 'True')
        cm.markTrue(conditionTypes.ready, InstanceReasons.provisioned);
      return {};
    }
    if (
      plan.status?.removedFromBrokerCatalog ||
      (!provisioned && serviceClass.status?.removedFromBrokerCatalog)
    ) {
      cm.markFalse(
        conditionTypes.ready,
        InstanceReasons.removedFromCatalog,
        `${who}: plan ${JSON.stringify(plan.spec.externalName)} is no longer in the broker's catalog`,
      );
      return {};
    }
    if (planChanged && !planUpdateable(serviceClass, plan)) {
      cm.markFalse(
        conditionTypes.ready,
        InstanceReasons.planNotUpdateable,
        `${who}: plan ${JSON.stringify(external.planExternalName)} cannot be changed to ${JSON.stringify(
          plan.spec.externalName,
        )}: the broker does not declare plan_updateable`,
      );
      return {};
    }
    const schema = provisioned
      ? plan.spec.instanceUpdateParameterSchema
      : plan.spec.instanceCreateParameterSchema;
    if (!provisioned || paramsChanged) {
      const check = checkParameters(schema?.['parameters'] ?? schema, params.parameters);
      if (!check.valid) {
        const reason = check.invalidSchema
          ? InstanceReasons.invalidPlanSchema
          : InstanceReasons.invalidParameters;
        const field = provisioned ? 'instanceUpdateParameterSchema' : 'instanceCreateParameterSchema';
        park(
          cm,
          status,
          instance.metadata.generation,
          reason,
          `${who}: parameters do not match ${plan.kind} ${plan.metadata.name ?? ''} ${field}: ${check.errors.join('; ')}`,
        );
        return {};
      }
    }
    if (!(await isLatest(ctx, instance))) return staleRequeue;
    const api = await brokerApi(ctx, instance, serviceClass);
    return provisioned
      ? update(ctx, instance, api, resolved, params, {
          planChanged,
          paramsChanged: paramsChanged || updateRequested,
        })
      : provision(ctx, instance, api, resolved, params);
  }

  async function brokerApi(
    ctx: ReconcileContext,
    instance: ServiceInstance,
    serviceClass: AnyClass,
  ): Promise<BrokerApi> {
    return op.brokerApiFor(
      ctx,
      options.brokers,
      brokerOf(serviceClass),
      instance.status ?? {},
      describe(instance),
    );
  }

  async function provision(
    ctx: ReconcileContext,
    instance: ServiceInstance,
    api: BrokerApi,
    resolved: ResolvedPlan,
    params: ResolvedParameters,
  ): Promise<Result> {
    const status = instance.status!;
    const ns = await namespaceInfo(ctx, instance.metadata.namespace ?? '');
    status.inProgressProperties = properties(instance, resolved, params);
    status.deprovisionStatus = 'Required';
    await op.beginOperation(ctx, instance, 'Provision', InstanceReasons.provisionInFlight);

    const body: Record<string, unknown> = {
      service_id: resolved.serviceClass.spec.externalID,
      plan_id: resolved.plan.spec.externalID,
      organization_guid: await clusterID(ctx),
      space_guid: ns.uid,
      context: await requestContext(ctx, instance, clusterID, ns.annotations),
      parameters: params.parameters,
    };
    if (resolved.plan.spec.maintenanceInfo) body['maintenance_info'] = resolved.plan.spec.maintenanceInfo;
    const res = await api.provision(status.externalID!, body, {
      originatingIdentity: originatingIdentity(instance.spec.userInfo),
      signal: ctx.signal,
    });
    return settle(ctx, instance, 'provision', res, interpretOutcome('provision', res.outcome), resolved);
  }

  async function update(
    ctx: ReconcileContext,
    instance: ServiceInstance,
    api: BrokerApi,
    resolved: ResolvedPlan,
    params: ResolvedParameters,
    changed: { planChanged: boolean; paramsChanged: boolean },
  ): Promise<Result> {
    const status = instance.status!;
    const previous = status.externalProperties ?? {};
    status.inProgressProperties = properties(instance, resolved, params);
    await op.beginOperation(ctx, instance, 'Update', InstanceReasons.updateInFlight);

    const ns = await namespaceInfo(ctx, instance.metadata.namespace ?? '');
    const body: Record<string, unknown> = {
      service_id: resolved.serviceClass.spec.externalID,
      context: await requestContext(ctx, instance, clusterID, ns.annotations),
      previous_values: {
        plan_id: previous.planExternalID,
        service_id: resolved.serviceClass.spec.externalID,
      },
    };
    if (changed.planChanged) body['plan_id'] = resolved.plan.spec.externalID;
    if (changed.paramsChanged) body['parameters'] = params.parameters;
    const res = await api.update(status.externalID!, body, {
      originatingIdentity: originatingIdentity(instance.spec.userInfo),
      signal: ctx.signal,
    });
    return settle(ctx, instance, 'update', res, interpretOutcome('update', res.outcome), resolved);
  }

  async function deprovision(
    ctx: ReconcileContext,
    instance: ServiceInstance,
    api: BrokerApi,
  ): Promise<Result> {
    const status = instance.status!;
    const cm = conditionsOf(ctx, status);
    const bindings = (
      await ctx.config.client.list<ServiceCredentialBinding>(serviceCredentialBindingType, {
        namespace: instance.metadata.namespace ?? '',
        signal: ctx.signal,
      })
    ).items.filter((b) => b.spec.instanceRef.name === instance.metadata.name);
    if (bindings.length > 0) {
      cm.markFalse(
        conditionTypes.ready,
        InstanceReasons.blockedByBindings,
        `${describe(instance)}: ${bindings.length} ServiceCredentialBinding(s) must be deleted first (${bindings
          .slice(0, 5)
          .map((b) => b.metadata.name)
          .join(', ')})`,
      );
      return {};
    }
    if (status.currentOperation !== 'Deprovision') {
      await op.beginOperation(ctx, instance, 'Deprovision', InstanceReasons.deprovisionInFlight);
    }
    const res = await api.deprovision(status.externalID!, deleteQuery(status), {
      originatingIdentity: originatingIdentity(instance.spec.userInfo),
      signal: ctx.signal,
    });
    return settle(ctx, instance, 'deprovision', res, interpretOutcome('deprovision', res.outcome));
  }

  /** Orphan mitigation: DELETE, without the originating identity, until the broker says 200 or 410. */
  async function mitigate(ctx: ReconcileContext, instance: ServiceInstance, api: BrokerApi): Promise<Result> {
    const status = instance.status!;
    const res = await api.deprovision(status.externalID!, deleteQuery(status), { signal: ctx.signal });
    return settle(ctx, instance, 'deprovision', res, interpretOutcome('deprovision', res.outcome));
  }

  async function poll(ctx: ReconcileContext, instance: ServiceInstance, api: BrokerApi): Promise<Result> {
    const status = instance.status!;
    const operation = status.currentOperation ?? 'Provision';
    const request = operationOf[operation];
    const res = await api.instanceLastOperation(status.externalID!, lastOperationQuery(status), {
      originatingIdentity: status.orphanMitigationInProgress
        ? undefined
        : originatingIdentity(instance.spec.userInfo),
      signal: ctx.signal,
    });
    const verdict = op.pollVerdict(request, res);
    if (verdict === 'succeeded' || verdict === 'gone')
      return settle(ctx, instance, request, res, op.pollSucceeded);
    if (verdict === 'failed') {
      const said = res.body?.['description'];
      const failed =
        typeof said === 'string' && res.description === undefined ? { ...res, description: said } : res;
      return settle(ctx, instance, request, failed, op.pollFailed(request));
    }
    const next = op.stillInProgress(ctx, status, request, res, {
      polling,
      progressReason: progressReason[operation],
      timedOutReason: InstanceReasons.pollingTimedOut,
    });
    if ('timedOut' in next) return settle(ctx, instance, request, next.timedOut.res, next.timedOut.verdict);
    return next.result;
  }

  /** Applies the verdict on an answer to `request`: success, async acceptance, or failure per the table. */
  async function settle(
    ctx: ReconcileContext,
    instance: ServiceInstance,
    request: OsbRequestType,
    res: BrokerCallResult,
    verdict: Interpretation,
    resolved?: ResolvedPlan,
  ): Promise<Result> {
    const status = instance.status!;
    const cm = conditionsOf(ctx, status);
    const who = describe(instance);
    const mitigating = status.orphanMitigationInProgress === true;
    const dashboard = res.body?.['dashboard_url'];
    if (typeof dashboard === 'string' && dashboard !== '') status.dashboardURL = dashboard;

    if (verdict.verdict === 'accepted') {
      const operation =
        request === 'provision' ? 'Provision' : request === 'update' ? 'Update' : 'Deprovision';
      return op.acceptOperation(ctx, status, res, {
        operation,
        request,
        progressReason: progressReason[operation],
        restart: mitigating,
        maximumPollingDurationSeconds: resolved?.plan.spec.maximumPollingDuration,
        polling,
      });
    }

    op.endOperation(status);
    if (verdict.verdict === 'succeeded') {
      if (request === 'deprovision') {
        status.provisionStatus = 'NotProvisioned';
        delete status.externalProperties;
        if (mitigating) {
          status.orphanMitigationInProgress = false;
          status.deprovisionStatus = 'NotRequired';
          cm.clear(conditionTypes.orphanMitigation);
          if (instance.metadata.deletionTimestamp !== undefined) {
            await clearFinalizer(ctx, instance, finalizer);
            return {};
          }
          return op.retryAfterOrphanMitigation(cm, 'provision');
        }
        status.deprovisionStatus = 'Succeeded';
        cm.markFalse(conditionTypes.ready, InstanceReasons.deprovisioned, 'The instance was deprovisioned');
        if (instance.metadata.deletionTimestamp !== undefined) await clearFinalizer(ctx, instance, finalizer);
        return {};
      }
      if (status.inProgressProperties) status.externalProperties = status.inProgressProperties;
      delete status.inProgressProperties;
      status.provisionStatus = 'Provisioned';
      status.observedUpdateRequests = instance.spec.updateRequests ?? 0;
      cm.clear(conditionTypes.failed);
      cm.markTrue(
        conditionTypes.ready,
        request === 'provision' ? InstanceReasons.provisioned : InstanceReasons.updated,
      );
      return {};
    }

    // Failed.
    const message = op.failureMessage(who, request, verdict, res);
    // A delete is repeated until the broker says 200 or 410: the "orphan mitigation" of a delete.
    if (request === 'deprovision') op.retryDelete(cm, mitigating, message, 'DeprovisionCallFailed');
    delete status.inProgressProperties;
    if (request === 'provision') {
      if (verdict.orphanMitigation) {
        status.deprovisionStatus = 'Required';
        await op.startOrphanMitigation(ctx, instance, verdict, message, 'deprovisioning');
        const api = await brokerApi(ctx, instance, (await recordedClass(ctx, instance))!);
        return mitigate(ctx, instance, api);
      }
      status.deprovisionStatus = 'NotRequired';
    }
    return op.retryOrPark(cm, instance, verdict, message);
  }
}

function deprovisionRequired(status: ServiceInstanceStatus): boolean {
  return status.deprovisionStatus === 'Required' || status.deprovisionStatus === 'Failed';
}

function describe(obj: KubeObject): string {
  return `${obj.kind ?? 'ServiceInstance'} ${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/**
 * While its class or plan is missing, `instance` tracks every class and plan it could resolve to
 * (by external name there is no object name to track), so the catalog's arrival enqueues it.
 */
function trackCatalog(ctx: ReconcileContext, instance: ServiceInstance): void {
  const spec = instance.spec;
  const cluster =
    spec.clusterServiceClassExternalName !== undefined || spec.clusterServiceClassName !== undefined;
  const scope = cluster ? {} : { namespace: instance.metadata.namespace ?? '' };
  const by = {
    ...serviceInstanceType,
    namespace: instance.metadata.namespace ?? '',
    name: instance.metadata.name ?? '',
  };
  for (const type of cluster
    ? [classTypes.cluster, planTypes.cluster]
    : [classTypes.namespaced, planTypes.namespaced])
    ctx.config.tracker.trackReference({ ...type, ...scope, selector: '' }, by);
}
