// Status bookkeeping shared by the instance and credential-binding controllers: conditions, the
// write-before-call of an operation (so a restart resumes it instead of forgetting a resource the
// broker may have made), parking after a terminal failure until the spec changes, and retries.

import type { KubeObject } from '@bindery/kube';
import { ConditionSet, formatMetaTime } from '@bindery/runtime';
import type { Condition, ConditionManager, ReconcileContext } from '@bindery/runtime';
import { nextPoll, pollingDurationMs } from '../operations/polling.ts';
import type { PollingOptions } from '../operations/polling.ts';

export const conditionTypes = {
  ready: 'Ready',
  failed: 'Failed',
  orphanMitigation: 'OrphanMitigation',
} as const;

/** `Ready` is the summary; `Failed` and `OrphanMitigation` are set beside it. */
export const operationConditions = new ConditionSet({ happy: conditionTypes.ready });

interface WithConditions {
  conditions?: Condition[];
}

export function conditionsOf(ctx: ReconcileContext, status: WithConditions): ConditionManager {
  return operationConditions.manage(status as Record<string, unknown>, ctx.config.clock);
}

/**
 * Thrown after status says what failed: the work queue retries with per-item backoff (the
 * ResourceReconciler writes status before rethrowing). Its message never holds a credential.
 */
export class RetryLater extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** Writes status now (the record of an operation about to be sent), keeping the resourceVersion current. */
export async function persistStatus(ctx: ReconcileContext, resource: KubeObject): Promise<void> {
  const updated = await ctx.originalConfig.client.updateStatus(resource, { signal: ctx.signal });
  if (updated.metadata.resourceVersion !== undefined)
    resource.metadata.resourceVersion = updated.metadata.resourceVersion;
}

/**
 * Whether `resource` (read from the informer cache) is the API server's current version. The cache
 * lags behind this controller's own status writes; acting on a stale copy would send a request
 * the last reconcile already settled (a second orphan-mitigation DELETE, say), so callers requeue.
 */
export async function isLatest(ctx: ReconcileContext, resource: KubeObject): Promise<boolean> {
  const current = await ctx.config.apiReader.get(
    {
      apiVersion: resource.apiVersion ?? ctx.resourceType.apiVersion,
      kind: resource.kind ?? ctx.resourceType.kind,
      name: resource.metadata.name ?? '',
      ...(resource.metadata.namespace ? { namespace: resource.metadata.namespace } : {}),
    },
    { signal: ctx.signal, metadataOnly: true },
  );
  return current.metadata.resourceVersion === resource.metadata.resourceVersion;
}

/** How soon to look again at an object whose cached copy is stale. */
export const staleRequeue = { requeueAfterMs: 100 } as const;

/** A terminal failure: `Failed` holds the generation it failed at; nothing is retried until the spec changes. */
export function park(
  cm: ConditionManager,
  status: WithConditions,
  generation: number | undefined,
  reason: string,
  message: string,
): void {
  cm.markFalse(conditionTypes.ready, reason, message);
  cm.markTrue(conditionTypes.failed, reason, message);
  const failed = status.conditions?.find((c) => c.type === conditionTypes.failed);
  if (failed && generation !== undefined) failed.observedGeneration = generation;
}

/** Parked at this generation; a spec change (a new generation) clears `Failed` and tries again. */
export function parked(
  cm: ConditionManager,
  status: WithConditions,
  generation: number | undefined,
): boolean {
  const failed = status.conditions?.find((c) => c.type === conditionTypes.failed);
  if (failed?.status !== 'True') return false;
  if (failed.observedGeneration !== undefined && failed.observedGeneration === generation) return true;
  cm.clear(conditionTypes.failed);
  return false;
}

export function now(ctx: ReconcileContext): string {
  return formatMetaTime(ctx.config.clock.now());
}

export interface PollTiming {
  operationStartTime?: string | undefined;
  pollDeadline?: string | undefined;
}

/** The poll deadline to record when an operation is accepted: start + `maximum_polling_duration`. */
export function pollDeadline(
  start: string,
  maximumPollingDurationSeconds: number | undefined,
  options: PollingOptions,
): string {
  return formatMetaTime(Date.parse(start) + pollingDurationMs(maximumPollingDurationSeconds, options));
}

/** When to poll again, or `expired` once the recorded deadline passed. */
export function schedulePoll(
  ctx: ReconcileContext,
  timing: PollTiming,
  retryAfterMs: number | undefined,
  options: PollingOptions,
): { pollInMs: number } | { expired: true } {
  const nowMs = ctx.config.clock.now();
  const startedAt = timing.operationStartTime ? Date.parse(timing.operationStartTime) : nowMs;
  const deadline = timing.pollDeadline ? Date.parse(timing.pollDeadline) : Number.POSITIVE_INFINITY;
  const min = options.minDelayMs ?? 1000;
  // The doubling backoff without a stored counter: the number of doublings since the start.
  const attempts = Math.floor(Math.log2(Math.max(1, (nowMs - startedAt) / min)));
  const decision = nextPoll({ startedAt, attempts, retryAfterMs }, nowMs, {
    ...options,
    defaultMaxDurationMs: Number.isFinite(deadline)
      ? Math.max(0, deadline - startedAt)
      : Number.MAX_SAFE_INTEGER,
  });
  return decision;
}
