// One OSB operation as the instance and credential-binding controllers both drive it: the finalizing
// sync that writes status while deleting, reaching the broker, an accepted asynchronous operation and
// its `last_operation` polling, and the endings (orphan mitigation, a retried delete, retry or park).
// What is specific to a kind (the request bodies, what success writes) stays in its controller.

import type { KubeObject, TypeRef } from '@bindery/kube';
import {
  ResourceReconciler,
  SyncReconciler,
  addFinalizer,
  deepCopy,
  deepEqual,
  hasFinalizer,
} from '@bindery/runtime';
import type { Condition, ConditionManager, ReconcileContext, Result, SetupContext } from '@bindery/runtime';
import { finalizer } from '../apis/index.ts';
import { interpretOutcome, interpretPoll } from '../operations/orphan-mitigation.ts';
import type { Interpretation, OsbRequestType, PollVerdict } from '../operations/orphan-mitigation.ts';
import type { PollingOptions } from '../operations/polling.ts';
import { ParametersError, resolveParameters } from '../parameters/parameters.ts';
import type { ParametersInput, ResolvedParameters } from '../parameters/parameters.ts';
import { BrokerUnavailableError } from '../platform/broker-api.ts';
import type { BrokerApi, BrokerApiProvider, BrokerCallResult } from '../platform/broker-api.ts';
import type { BrokerReference } from '../platform/broker-api.ts';
import {
  RetryLater,
  conditionTypes,
  conditionsOf,
  now,
  operationConditions,
  park,
  persistStatus,
  pollDeadline,
  schedulePoll,
} from './operation-status.ts';
import type { PollTiming } from './operation-status.ts';
import { secretKeyReader } from './cluster-info.ts';

/** What the instance and credential-binding reconcilers are both configured with. */
export interface BrokerOperationOptions {
  brokers: BrokerApiProvider;
  /** `context.clusterid` and `organization_guid`; default: the uid of namespace kube-system. */
  clusterID?: string;
  polling?: PollingOptions;
  /** How long to wait before looking again for a reference that is missing or not ready. Default 30 s. */
  missingReferenceRetryMs?: number;
}

/** The status fields of an operation in flight, the same on an instance and a binding. */
export interface OperationStatus extends PollTiming {
  conditions?: Condition[];
  currentOperation?: string;
  asyncOpInProgress?: boolean;
  lastOperation?: string;
  orphanMitigationInProgress?: boolean;
}

type WithOperationStatus = KubeObject & { status?: OperationStatus };

export interface BrokerOperationReconcilerOptions<T extends WithOperationStatus> {
  /** The kind: names the reconciler (and `<name>Operations` its finalizing sync) in logs. */
  name: string;
  type: TypeRef;
  /** Extra watches. */
  setup: (ctx: SetupContext) => void;
  reconcile: (ctx: ReconcileContext, resource: T) => Promise<Result>;
}

/** A reconciler of a kind whose objects are OSB operations: `Ready`/`Failed` conditions, the finalizer. */
export function brokerOperationReconciler<T extends WithOperationStatus>(
  options: BrokerOperationReconcilerOptions<T>,
): ResourceReconciler<T> {
  return new ResourceReconciler<T>({
    name: options.name,
    type: options.type,
    conditions: operationConditions,
    setup: options.setup,
    reconciler: finalizingSync<T>(`${options.name}Operations`, options.reconcile),
  });
}

/**
 * Adds the finalizer and reconciles; while deleting, the ResourceReconciler writes no status, so
 * progress is written here (also when the reconcile throws), and not at all once the finalizer is
 * gone (the object is then gone too).
 */
export function finalizingSync<T extends WithOperationStatus>(
  name: string,
  reconcile: (ctx: ReconcileContext, resource: T) => Promise<Result>,
): SyncReconciler<T> {
  return new SyncReconciler<T>({
    name,
    syncDuringFinalization: true,
    sync: async (ctx, resource) => {
      if (resource.metadata.deletionTimestamp === undefined) {
        await addFinalizer(ctx, resource, finalizer);
        return reconcile(ctx, resource);
      }
      if (!hasFinalizer(resource, finalizer)) return {};
      const before = deepCopy(resource.status);
      try {
        const result = await reconcile(ctx, resource);
        if (hasFinalizer(resource, finalizer) && !deepEqual(before, resource.status))
          await persistStatus(ctx, resource);
        return result;
      } catch (err) {
        if (hasFinalizer(resource, finalizer) && !deepEqual(before, resource.status)) {
          await persistStatus(ctx, resource).catch(() => undefined);
        }
        throw err;
      }
    },
  });
}

/** The broker's API; an unavailable broker shows in `Ready` and is retried with backoff. */
export async function brokerApiFor(
  ctx: ReconcileContext,
  brokers: BrokerApiProvider,
  broker: BrokerReference,
  status: OperationStatus,
  who: string,
): Promise<BrokerApi> {
  try {
    return await brokers(broker, ctx.signal);
  } catch (err) {
    if (!(err instanceof BrokerUnavailableError)) throw err;
    conditionsOf(ctx, status).markFalse(conditionTypes.ready, err.reason, err.message);
    throw new RetryLater(`${who}: ${err.message}`);
  }
}

/**
 * Records `operation` as started, `Ready` False with `reason`, and writes the status before the
 * request is sent, so that a restart resumes it.
 */
export async function beginOperation(
  ctx: ReconcileContext,
  resource: WithOperationStatus,
  operation: string,
  reason: string,
): Promise<void> {
  const status = (resource.status ??= {});
  status.currentOperation = operation;
  status.operationStartTime = now(ctx);
  conditionsOf(ctx, status).markFalse(
    conditionTypes.ready,
    reason,
    `The ${operation.toLowerCase()} request is being sent to the broker`,
  );
  await persistStatus(ctx, resource);
}

/**
 * The request's `parameters`, from `spec.parameters` and `spec.parametersFrom` (Secret keys of the
 * object's namespace); undefined, with `Ready` saying why, when a reference cannot be read yet.
 */
export async function specParameters(
  ctx: ReconcileContext,
  resource: KubeObject & {
    spec: Pick<ParametersInput, 'parameters' | 'parametersFrom'>;
    status?: OperationStatus;
  },
  who: string,
): Promise<ResolvedParameters | undefined> {
  try {
    return await resolveParameters({
      owner: who,
      parameters: resource.spec.parameters,
      parametersFrom: resource.spec.parametersFrom,
      readSecretKey: secretKeyReader(ctx, resource.metadata.namespace ?? ''),
    });
  } catch (err) {
    if (!(err instanceof ParametersError)) throw err;
    conditionsOf(ctx, (resource.status ??= {})).markFalse(conditionTypes.ready, err.reason, err.message);
    return undefined;
  }
}

/** The broker's answer to a `last_operation` poll, as a verdict. */
export function pollVerdict(request: OsbRequestType, res: BrokerCallResult): PollVerdict {
  const code = res.outcome.kind === 'response' ? res.outcome.status : 0;
  return interpretPoll(request, code, res.body?.['state']);
}

/** A poll that found the operation failed (`state: failed`), as the orphan-mitigation table reads it. */
export function pollFailed(request: OsbRequestType): Interpretation {
  return interpretOutcome(request, { kind: 'lastOperationFailed' });
}

/** A poll that found the operation done (or, for a delete, gone). */
export const pollSucceeded: Interpretation = {
  verdict: 'succeeded',
  orphanMitigation: false,
  retry: false,
  reason: 'Succeeded',
};

export interface ProgressOptions {
  polling: PollingOptions;
  /** The `Ready` reason while the operation runs (`Provisioning`, `Binding`, …). */
  progressReason: string;
  /** The reason of a failure because polling passed its deadline. */
  timedOutReason: string;
}

/**
 * The operation is still running: when to poll again (`Ready` says it is in progress), or, past
 * the deadline, the failure to settle it with.
 */
export function stillInProgress(
  ctx: ReconcileContext,
  status: OperationStatus,
  request: OsbRequestType,
  res: BrokerCallResult,
  options: ProgressOptions,
): { result: Result } | { timedOut: { res: BrokerCallResult; verdict: Interpretation } } {
  const next = schedulePoll(ctx, status, res.retryAfterMs, options.polling);
  if ('expired' in next) {
    return {
      timedOut: {
        res: { ...res, description: 'the broker did not finish within the maximum polling duration' },
        verdict: { ...pollFailed(request), reason: options.timedOutReason },
      },
    };
  }
  const description = typeof res.body?.['description'] === 'string' ? `: ${res.body['description']}` : '';
  conditionsOf(ctx, status).markFalse(
    conditionTypes.ready,
    options.progressReason,
    `The ${request} is in progress${description}`,
  );
  return { result: { requeueAfterMs: next.pollInMs } };
}

export interface AcceptOptions<Operation> {
  /** The `currentOperation` to record. */
  operation: Operation;
  request: OsbRequestType;
  /** The `Ready` reason while the operation runs. */
  progressReason: string;
  /** Start the clock anew; otherwise an operation that already started keeps its start time. */
  restart: boolean;
  maximumPollingDurationSeconds: number | undefined;
  polling: PollingOptions;
}

/** The broker accepted the request (202): records the operation to poll and when to give up. */
export function acceptOperation<S extends OperationStatus>(
  ctx: ReconcileContext,
  status: S,
  res: BrokerCallResult,
  options: AcceptOptions<NonNullable<S['currentOperation']>>,
): Result {
  const operation = res.body?.['operation'];
  status.asyncOpInProgress = true;
  if (typeof operation === 'string') status.lastOperation = operation;
  else delete status.lastOperation;
  status.currentOperation = options.operation;
  if (options.restart || status.operationStartTime === undefined) status.operationStartTime = now(ctx);
  status.pollDeadline = pollDeadline(
    status.operationStartTime,
    options.maximumPollingDurationSeconds,
    options.polling,
  );
  conditionsOf(ctx, status).markFalse(
    conditionTypes.ready,
    options.progressReason,
    `The broker accepted the ${options.request}; polling last_operation`,
  );
  const next = schedulePoll(ctx, status, undefined, options.polling);
  return { requeueAfterMs: 'expired' in next ? 1 : next.pollInMs };
}

/** The operation is over (whatever its outcome): nothing is left to poll. */
export function endOperation(status: OperationStatus): void {
  delete status.currentOperation;
  delete status.operationStartTime;
  delete status.asyncOpInProgress;
  delete status.lastOperation;
  delete status.pollDeadline;
}

/** What `Ready` and the retry say about a failed request; never holds a credential. */
export function failureMessage(
  who: string,
  request: OsbRequestType,
  verdict: Interpretation,
  res: BrokerCallResult,
): string {
  return `${who}: ${request} failed (${verdict.reason})${res.description ? `: ${res.description}` : ''}`;
}

export const orphanMitigationReasons = {
  starting: 'StartingOrphanMitigation',
  failed: 'OrphanMitigationFailed',
  succeeded: 'OrphanMitigationSucceeded',
} as const;

/** A delete (deprovision, unbind) is repeated until the broker says 200 or 410. */
export function retryDelete(
  cm: ConditionManager,
  mitigating: boolean,
  message: string,
  failedReason: string,
): never {
  if (mitigating) cm.markTrue(conditionTypes.orphanMitigation, orphanMitigationReasons.failed, message);
  cm.markUnknown(conditionTypes.ready, mitigating ? orphanMitigationReasons.failed : failedReason, message);
  throw new RetryLater(message);
}

/**
 * The create (provision, bind) failed such that the broker may have made something: records the
 * orphan mitigation before its delete is sent. The caller marks the delete as required first.
 */
export async function startOrphanMitigation(
  ctx: ReconcileContext,
  resource: WithOperationStatus,
  verdict: Interpretation,
  message: string,
  deleting: 'deprovisioning' | 'unbinding',
): Promise<void> {
  const status = (resource.status ??= {});
  const cm = conditionsOf(ctx, status);
  if (!verdict.retry) park(cm, status, resource.metadata.generation, verdict.reason, message);
  status.orphanMitigationInProgress = true;
  cm.markTrue(conditionTypes.orphanMitigation, verdict.reason, message);
  cm.markFalse(
    conditionTypes.ready,
    orphanMitigationReasons.starting,
    `${message}; ${deleting} to mitigate an orphan`,
  );
  await persistStatus(ctx, resource);
}

/** The orphan is gone: the create is retried, unless it failed for good (parked). */
export function retryAfterOrphanMitigation(cm: ConditionManager, request: OsbRequestType): Result {
  if (cm.get(conditionTypes.failed)?.status === 'True') return {};
  cm.markFalse(
    conditionTypes.ready,
    orphanMitigationReasons.succeeded,
    `Orphan mitigation succeeded; the ${request} is retried`,
  );
  return { requeue: true };
}

/** A failure that is not a delete's: retried with backoff, or parked until the spec changes. */
export function retryOrPark(
  cm: ConditionManager,
  resource: WithOperationStatus,
  verdict: Interpretation,
  message: string,
): Result {
  if (verdict.retry) {
    cm.markFalse(conditionTypes.ready, verdict.reason, message);
    throw new RetryLater(message);
  }
  park(cm, resource.status ?? {}, resource.metadata.generation, verdict.reason, message);
  return {};
}
