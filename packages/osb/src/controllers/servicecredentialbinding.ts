// The ServiceCredentialBinding controller: binds at the broker (synchronously, or asynchronously
// where the offering is `bindings_retrievable`), writes the credentials to a Secret it owns and
// exposes it as `.status.binding.name` (a servicebinding.io Provisioned Service), unbinds on delete,
// and orphan-mitigates binds per the OSB 2.17 table. Rotation (2.17, plans that are
// `binding_rotatable`): raising `spec.rotationRequests` binds anew with `predecessor_binding_id`,
// writes the new credentials to a new Secret, points `.status.binding.name` at it, and unbinds the
// predecessor (and deletes its Secret) after a grace period.

import { randomUUID } from 'node:crypto';
import type { KubeObject } from '@bindery/kube';
import { clearFinalizer, enqueueTracked, formatMetaTime } from '@bindery/runtime';
import type { ResourceReconciler } from '@bindery/runtime';
import type { ReconcileContext, Result } from '@bindery/runtime';
import { finalizer } from '../apis/index.ts';
import type {
  ServiceCredentialBinding,
  ServiceCredentialBindingStatus,
  ServiceInstance,
} from '../apis/index.ts';
import { interpretOutcome } from '../operations/orphan-mitigation.ts';
import type { Interpretation } from '../operations/orphan-mitigation.ts';
import { checkParameters } from '../parameters/schema.ts';
import type { BrokerApi, BrokerCallResult } from '../platform/broker-api.ts';
import { kubernetesContext, originatingIdentity } from '../platform/identity.ts';
import * as op from './broker-operation.ts';
import { predecessorDue, rotationWake, unbindPredecessor } from './binding-rotation.ts';
import { clusterIDReader, namespaceInfo } from './cluster-info.ts';
import {
  SecretNotOwnedError,
  bindingCredentialSecret,
  deleteCredentialSecret,
  owningBinding,
  recordCredentialTimes,
  secretExists,
  secretName,
  writeCredentialSecret,
} from './credential-secret.ts';
import { bindable, boundInstance, brokerOf, recordedClassAndPlan } from './instance-refs.ts';
import type { AnyClass, AnyPlan } from './instance-refs.ts';
import {
  conditionTypes,
  conditionsOf,
  isLatest,
  now,
  park,
  parked,
  staleRequeue,
} from './operation-status.ts';
import { serviceCredentialBindingType, serviceInstanceType } from './serviceinstance.ts';

/** `missingReferenceRetryMs`: how long to wait for an instance, class or plan that is missing or not ready. */
export interface ServiceCredentialBindingReconcilerOptions extends op.BrokerOperationOptions {
  /** How long a rotated-out binding stays valid before it is unbound. Default 5 min. */
  rotationGraceMs?: number;
}

export const BindingReasons = {
  bound: 'CredentialsWritten',
  bindInFlight: 'BindRequestInFlight',
  binding: 'Binding',
  unbinding: 'Unbinding',
  instanceNotFound: 'ReferencesNonexistentInstance',
  instanceNotReady: 'InstanceNotReady',
  instanceDeleted: 'ReferencesDeletedServiceInstance',
  notBindable: 'NotBindable',
  invalidParameters: 'InvalidParameters',
  orphanMitigation: op.orphanMitigationReasons.starting,
  orphanMitigationFailed: op.orphanMitigationReasons.failed,
  orphanMitigationSucceeded: op.orphanMitigationReasons.succeeded,
  unbindFailed: 'UnbindCallFailed',
  fetchFailed: 'FetchingBindingFailed',
  rotationNotSupported: 'RotationNotSupported',
  pollingTimedOut: 'PollingTimedOut',
} as const;

interface BindContext {
  instance: ServiceInstance;
  serviceClass: AnyClass;
  plan: AnyPlan;
  api: BrokerApi;
}

export function serviceCredentialBindingReconciler(
  options: ServiceCredentialBindingReconcilerOptions,
): ResourceReconciler<ServiceCredentialBinding> {
  const polling = options.polling ?? {};
  const missingRetryMs = options.missingReferenceRetryMs ?? 30_000;
  const graceMs = options.rotationGraceMs ?? 5 * 60_000;
  const clusterID = clusterIDReader(options.clusterID);
  return op.brokerOperationReconciler<ServiceCredentialBinding>({
    name: 'ServiceCredentialBinding',
    type: serviceCredentialBindingType,
    setup: (ctx) => {
      // An instance becoming Ready (or going away) wakes the bindings waiting on it.
      ctx.builder.watches(serviceInstanceType, enqueueTracked(ctx));
      // The binding's Secret, metadata only: deleting it by hand makes the binding write it again.
      ctx.builder.watches({ apiVersion: 'v1', kind: 'Secret' }, owningBinding, { metadataOnly: true });
    },
    reconcile: reconcileBinding,
  });

  async function reconcileBinding(ctx: ReconcileContext, binding: ServiceCredentialBinding): Promise<Result> {
    const status = (binding.status ??= {});
    const cm = conditionsOf(ctx, status);
    const deleting = binding.metadata.deletionTimestamp !== undefined;
    const namespace = binding.metadata.namespace ?? '';
    const who = describe(binding);
    status.externalID ??= binding.spec.externalID ?? binding.metadata.uid ?? '';

    if (
      deleting &&
      !status.asyncOpInProgress &&
      !status.orphanMitigationInProgress &&
      !unbindRequired(status) &&
      !status.predecessor
    ) {
      await clearFinalizer(ctx, binding, finalizer);
      return {};
    }
    const instance = await boundInstance(ctx, binding);
    ctx.config.tracker.trackReference(
      { ...serviceInstanceType, namespace, name: binding.spec.instanceRef.name },
      { ...serviceCredentialBindingType, namespace, name: binding.metadata.name ?? '' },
    );
    if (!instance) {
      if (deleting && !status.asyncOpInProgress) {
        // Without its instance there is nobody to unbind at: the broker dropped the binding with it.
        await deleteCredentialSecret(ctx, namespace, secretName(binding), binding.metadata.uid ?? '');
        if (status.predecessor?.secretName)
          await deleteCredentialSecret(
            ctx,
            namespace,
            status.predecessor.secretName,
            binding.metadata.uid ?? '',
          );
        await clearFinalizer(ctx, binding, finalizer);
        return {};
      }
      cm.markFalse(
        conditionTypes.ready,
        BindingReasons.instanceNotFound,
        `${who}: spec.instanceRef: no ServiceInstance ${JSON.stringify(binding.spec.instanceRef.name)}`,
      );
      return { requeueAfterMs: missingRetryMs };
    }
    const refs = await recordedClassAndPlan(ctx, instance);
    if (!refs) {
      cm.markFalse(
        conditionTypes.ready,
        BindingReasons.instanceNotReady,
        `${who}: ServiceInstance ${JSON.stringify(instance.metadata.name)} has no resolved class and plan yet`,
      );
      return { requeueAfterMs: missingRetryMs };
    }
    const api = await op.brokerApiFor(ctx, options.brokers, brokerOf(refs.serviceClass), status, who);
    const bc: BindContext = { instance, serviceClass: refs.serviceClass, plan: refs.plan, api };

    if (status.asyncOpInProgress || status.orphanMitigationInProgress || deleting) {
      if (!(await isLatest(ctx, binding))) return staleRequeue;
    }
    if (status.asyncOpInProgress) return poll(ctx, binding, bc);
    if (status.orphanMitigationInProgress) return unbind(ctx, binding, bc, status.externalID, true);
    if (deleting) {
      if (status.predecessor) return rotatedOut(ctx, binding, bc);
      await deleteCredentialSecret(ctx, namespace, secretName(binding), binding.metadata.uid ?? '');
      return unbind(ctx, binding, bc, status.externalID, false);
    }
    if (predecessorDue(ctx, status))
      return (await isLatest(ctx, binding)) ? rotatedOut(ctx, binding, bc) : staleRequeue;
    if (parked(cm, status, binding.metadata.generation)) return {};
    if (!bindable(refs.serviceClass, refs.plan)) {
      park(
        cm,
        status,
        binding.metadata.generation,
        BindingReasons.notBindable,
        `${who}: plan ${JSON.stringify(refs.plan.spec.externalName)} of ServiceInstance ${JSON.stringify(instance.metadata.name)} is not bindable`,
      );
      return {};
    }
    const rotation = (binding.spec.rotationRequests ?? 0) !== (status.observedRotationRequests ?? 0);
    if (status.binding?.name !== undefined && !rotation && unbindRequired(status)) {
      const renewIn = status.renewBefore
        ? Date.parse(status.renewBefore) - ctx.config.clock.now()
        : undefined;
      if (renewIn !== undefined && renewIn <= 0 && refs.plan.spec.bindingRotatable)
        return bind(ctx, binding, bc, true);
      if (!(await secretExists(ctx, binding))) return bind(ctx, binding, bc, false);
      if (cm.get(conditionTypes.ready)?.status !== 'True')
        cm.markTrue(conditionTypes.ready, BindingReasons.bound);
      return rotationWake(ctx, status, renewIn);
    }
    if (instance.metadata.deletionTimestamp !== undefined) {
      // Its deprovision waits for its bindings: a new one would keep it alive.
      cm.markFalse(
        conditionTypes.ready,
        BindingReasons.instanceDeleted,
        `${who}: ServiceInstance ${JSON.stringify(instance.metadata.name)} is being deleted`,
      );
      return {};
    }
    if (instance.status?.provisionStatus !== 'Provisioned' || instance.status.asyncOpInProgress) {
      cm.markFalse(
        conditionTypes.ready,
        BindingReasons.instanceNotReady,
        `${who}: ServiceInstance ${JSON.stringify(instance.metadata.name)} is not provisioned yet`,
      );
      return {};
    }
    if (rotation && status.binding?.name !== undefined) {
      if (!refs.plan.spec.bindingRotatable) {
        cm.markFalse(
          conditionTypes.ready,
          BindingReasons.rotationNotSupported,
          `${who}: spec.rotationRequests: plan ${JSON.stringify(refs.plan.spec.externalName)} is not binding_rotatable`,
        );
        return {};
      }
      return guarded(ctx, binding, bc, true);
    }
    return guarded(ctx, binding, bc, false);
  }

  /** Binds, unless the cached copy is stale (the last reconcile may have bound already). */
  async function guarded(
    ctx: ReconcileContext,
    binding: ServiceCredentialBinding,
    bc: BindContext,
    rotate: boolean,
  ): Promise<Result> {
    if (!(await isLatest(ctx, binding))) return staleRequeue;
    return bind(ctx, binding, bc, rotate);
  }

  async function bind(
    ctx: ReconcileContext,
    binding: ServiceCredentialBinding,
    bc: BindContext,
    rotate: boolean,
  ): Promise<Result> {
    const status = binding.status!;
    const cm = conditionsOf(ctx, status);
    const who = describe(binding);
    const params = await op.specParameters(ctx, binding, who);
    if (!params) return { requeueAfterMs: missingRetryMs };
    const schema = bc.plan.spec.serviceBindingCreateParameterSchema;
    const check = checkParameters(schema?.['parameters'] ?? schema, params.parameters);
    if (!check.valid) {
      park(
        cm,
        status,
        binding.metadata.generation,
        BindingReasons.invalidParameters,
        `${who}: parameters do not match the plan's serviceBindingCreateParameterSchema: ${check.errors.join('; ')}`,
      );
      return {};
    }
    if (rotate && !status.predecessor) {
      // A new OSB binding replaces the current one, which stays valid until it is unbound.
      status.predecessor = { externalID: status.externalID!, secretName: secretName(binding) };
      status.externalID = randomUUID();
      // The new credentials go to a new Secret, so that the workloads follow `.status.binding.name`.
      status.secretGeneration = (status.secretGeneration ?? 0) + 1;
    }
    status.unbindStatus = 'Required';
    status.parameterChecksum = params.checksum;
    await op.beginOperation(ctx, binding, 'Bind', BindingReasons.bindInFlight);

    const ns = await namespaceInfo(ctx, binding.metadata.namespace ?? '');
    const body: Record<string, unknown> = {
      service_id: bc.serviceClass.spec.externalID,
      plan_id: bc.plan.spec.externalID,
      app_guid: ns.uid,
      bind_resource: { app_guid: ns.uid },
      context: kubernetesContext({
        namespace: binding.metadata.namespace ?? '',
        clusterID: await clusterID(ctx),
        instanceName: bc.instance.metadata.name ?? '',
      }),
      parameters: params.parameters,
    };
    if (status.predecessor) body['predecessor_binding_id'] = status.predecessor.externalID;
    const res = await bc.api.bind(bc.instance.status!.externalID!, status.externalID!, body, {
      acceptsIncomplete: bc.serviceClass.spec.bindingsRetrievable === true,
      originatingIdentity: originatingIdentity(binding.spec.userInfo),
      signal: ctx.signal,
    });
    return settle(ctx, binding, bc, 'bind', res, interpretOutcome('bind', res.outcome));
  }

  async function unbind(
    ctx: ReconcileContext,
    binding: ServiceCredentialBinding,
    bc: BindContext,
    bindingID: string | undefined,
    mitigating: boolean,
  ): Promise<Result> {
    const status = binding.status!;
    if (!mitigating && status.currentOperation !== 'Unbind') {
      status.currentOperation = 'Unbind';
      status.operationStartTime = now(ctx);
    }
    const res = await bc.api.unbind(bc.instance.status!.externalID!, bindingID ?? '', unbindQuery(bc), {
      acceptsIncomplete: bc.serviceClass.spec.bindingsRetrievable === true,
      ...(mitigating ? {} : { originatingIdentity: originatingIdentity(binding.spec.userInfo) }),
      signal: ctx.signal,
    });
    return settle(ctx, binding, bc, 'unbind', res, interpretOutcome('unbind', res.outcome));
  }

  async function poll(
    ctx: ReconcileContext,
    binding: ServiceCredentialBinding,
    bc: BindContext,
  ): Promise<Result> {
    const status = binding.status!;
    const request =
      status.currentOperation === 'Unbind' || status.orphanMitigationInProgress ? 'unbind' : 'bind';
    const query: Record<string, string> = {
      service_id: bc.serviceClass.spec.externalID,
      plan_id: bc.plan.spec.externalID,
    };
    if (status.lastOperation) query['operation'] = status.lastOperation;
    const res = await bc.api.bindingLastOperation(
      bc.instance.status!.externalID!,
      status.externalID!,
      query,
      {
        originatingIdentity: status.orphanMitigationInProgress
          ? undefined
          : originatingIdentity(binding.spec.userInfo),
        signal: ctx.signal,
      },
    );
    const verdict = op.pollVerdict(request, res);
    if (verdict === 'succeeded' || verdict === 'gone') {
      if (request === 'unbind') return settle(ctx, binding, bc, 'unbind', res, op.pollSucceeded);
      // The credentials of an async bind come from GET binding (bindings_retrievable).
      const fetched = await bc.api.getBinding(
        bc.instance.status!.externalID!,
        status.externalID!,
        { service_id: query['service_id']!, plan_id: query['plan_id']! },
        { signal: ctx.signal },
      );
      if (fetched.outcome.kind === 'response' && fetched.outcome.status === 200 && fetched.body) {
        return settle(ctx, binding, bc, 'bind', fetched, op.pollSucceeded);
      }
      return settle(ctx, binding, bc, 'bind', fetched, {
        verdict: 'failed',
        orphanMitigation: true,
        retry: true,
        reason: BindingReasons.fetchFailed,
      });
    }
    if (verdict === 'failed') return settle(ctx, binding, bc, request, res, op.pollFailed(request));
    const next = op.stillInProgress(ctx, status, request, res, {
      polling,
      progressReason: request === 'bind' ? BindingReasons.binding : BindingReasons.unbinding,
      timedOutReason: BindingReasons.pollingTimedOut,
    });
    if ('timedOut' in next)
      return settle(ctx, binding, bc, request, next.timedOut.res, next.timedOut.verdict);
    return next.result;
  }

  async function settle(
    ctx: ReconcileContext,
    binding: ServiceCredentialBinding,
    bc: BindContext,
    request: 'bind' | 'unbind',
    res: BrokerCallResult,
    verdict: Interpretation,
  ): Promise<Result> {
    const status = binding.status!;
    const cm = conditionsOf(ctx, status);
    const who = describe(binding);
    const mitigating = status.orphanMitigationInProgress === true;

    if (verdict.verdict === 'accepted') {
      return op.acceptOperation(ctx, status, res, {
        operation: request === 'bind' ? 'Bind' : 'Unbind',
        request,
        progressReason: request === 'bind' ? BindingReasons.binding : BindingReasons.unbinding,
        restart: true,
        maximumPollingDurationSeconds: bc.plan.spec.maximumPollingDuration,
        polling,
      });
    }
    op.endOperation(status);

    if (verdict.verdict === 'succeeded' && request === 'unbind') {
      if (mitigating) {
        status.orphanMitigationInProgress = false;
        cm.clear(conditionTypes.orphanMitigation);
      }
      status.unbindStatus = mitigating ? 'NotRequired' : 'Succeeded';
      if (binding.metadata.deletionTimestamp !== undefined) {
        if (status.predecessor) return { requeue: true };
        await clearFinalizer(ctx, binding, finalizer);
        return {};
      }
      return op.retryAfterOrphanMitigation(cm, 'bind');
    }
    if (verdict.verdict === 'succeeded') {
      const built = bindingCredentialSecret(binding, bc.serviceClass, res.body?.['credentials']);
      if ('error' in built) {
        park(cm, status, binding.metadata.generation, built.error.reason, built.error.message);
        return {};
      }
      try {
        await writeCredentialSecret(ctx, built.secret, binding.metadata.uid ?? '');
      } catch (err) {
        if (err instanceof SecretNotOwnedError) {
          park(cm, status, binding.metadata.generation, err.reason, `${who}: ${err.message}`);
          return {};
        }
        throw err;
      }
      recordCredentialTimes(status, res.body?.['metadata']);
      status.binding = { name: secretName(binding) };
      status.observedRotationRequests = binding.spec.rotationRequests ?? 0;
      if (status.predecessor && !status.predecessor.unbindAfter) {
        status.predecessor.unbindAfter = formatMetaTime(ctx.config.clock.now() + graceMs);
      }
      cm.clear(conditionTypes.failed);
      cm.markTrue(conditionTypes.ready, BindingReasons.bound);
      return status.predecessor ? { requeueAfterMs: graceMs } : {};
    }

    const message = op.failureMessage(who, request, verdict, res);
    if (request === 'unbind') op.retryDelete(cm, mitigating, message, BindingReasons.unbindFailed);
    if (verdict.orphanMitigation) {
      status.unbindStatus = 'Required';
      await op.startOrphanMitigation(ctx, binding, verdict, message, 'unbinding');
      return unbind(ctx, binding, bc, status.externalID, true);
    }
    if (!status.binding) status.unbindStatus = 'NotRequired';
    return op.retryOrPark(cm, binding, verdict, message);
  }
}

/** Unbinds the OSB binding a rotation replaced. */
function rotatedOut(
  ctx: ReconcileContext,
  binding: ServiceCredentialBinding,
  bc: BindContext,
): Promise<Result> {
  return unbindPredecessor(ctx, binding, {
    api: bc.api,
    instanceID: bc.instance.status!.externalID!,
    query: unbindQuery(bc),
    who: describe(binding),
  });
}

function unbindQuery(bc: BindContext): { service_id: string; plan_id: string } {
  return {
    service_id: bc.serviceClass.spec.externalID,
    plan_id: bc.instance.status?.externalProperties?.planExternalID ?? bc.plan.spec.externalID,
  };
}

function unbindRequired(status: ServiceCredentialBindingStatus): boolean {
  return status.unbindStatus === 'Required' || status.unbindStatus === 'Failed';
}

function describe(obj: KubeObject): string {
  return `ServiceCredentialBinding ${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}
