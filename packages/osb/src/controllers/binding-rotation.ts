// Credential rotation (OSB 2.17, plans that are `binding_rotatable`): a new OSB binding replaces the
// current one. Its credentials go to a new Secret and `.status.binding.name` moves to it, which is how
// servicebinding.io re-projects the workloads; the predecessor stays valid at the broker (and its
// Secret stays, for pods not yet rolled) for a grace period, then it is unbound and its Secret deleted.

import type { ReconcileContext, Result } from '@bindery/runtime';
import type { ServiceCredentialBinding, ServiceCredentialBindingStatus } from '../apis/index.ts';
import { interpretOutcome } from '../operations/orphan-mitigation.ts';
import type { BrokerApi } from '../platform/broker-api.ts';
import { deleteCredentialSecret, secretName } from './credential-secret.ts';
import { RetryLater } from './operation-status.ts';

export interface PredecessorUnbind {
  api: BrokerApi;
  /** The OSB id of the binding's instance. */
  instanceID: string;
  query: { service_id: string; plan_id: string };
  /** The binding, as messages name it. */
  who: string;
}

/** Unbinds the OSB binding a rotation replaced, then deletes its Secret (no longer the binding's). */
export async function unbindPredecessor(
  ctx: ReconcileContext,
  binding: ServiceCredentialBinding,
  options: PredecessorUnbind,
): Promise<Result> {
  const status = binding.status!;
  const predecessor = status.predecessor!;
  const res = await options.api.unbind(options.instanceID, predecessor.externalID, options.query, {
    acceptsIncomplete: false,
    signal: ctx.signal,
  });
  const verdict = interpretOutcome('unbind', res.outcome);
  if (verdict.verdict === 'succeeded') {
    const old = predecessor.secretName;
    if (old && old !== secretName(binding))
      await deleteCredentialSecret(ctx, binding.metadata.namespace ?? '', old, binding.metadata.uid ?? '');
    delete status.predecessor;
    return binding.metadata.deletionTimestamp !== undefined ? { requeue: true } : {};
  }
  throw new RetryLater(
    `${options.who}: unbinding the rotated-out binding failed (${verdict.reason})${res.description ? `: ${res.description}` : ''}`,
  );
}

/** The rotated-out binding's grace period is over: time to unbind it. */
export function predecessorDue(ctx: ReconcileContext, status: ServiceCredentialBindingStatus): boolean {
  const unbindAfter = status.predecessor?.unbindAfter;
  return unbindAfter !== undefined && unbindAfter !== '' && Date.parse(unbindAfter) <= ctx.config.clock.now();
}

/** When a bound binding must look again: to renew its credentials or to unbind its predecessor. */
export function rotationWake(
  ctx: ReconcileContext,
  status: ServiceCredentialBindingStatus,
  renewInMs: number | undefined,
): Result {
  const predecessorIn = status.predecessor?.unbindAfter
    ? Date.parse(status.predecessor.unbindAfter) - ctx.config.clock.now()
    : undefined;
  const wake = [renewInMs, predecessorIn].filter((t): t is number => t !== undefined && t > 0);
  return wake.length ? { requeueAfterMs: Math.min(...wake, 24 * 3600_000) } : {};
}
