// Operations of the sample broker. An asynchronous operation is a record with a `readyAt` time, not a
// timer: whoever reads the record after that time finishes the operation (writes `succeeded`, or
// deletes what a deprovision or unbind removes). So nothing is lost when the broker restarts, and
// nothing runs for a record nobody asks about.

import { isConflict } from '@bindery/kube';
import type { LastOperationResponse } from '../broker.ts';
import { BrokerError } from '../errors.ts';
import type { AsyncMode } from './catalog.ts';
import type { Operation, OperationType, SecretStore, StoredResource } from './state.ts';

export interface SampleContext {
  store: SecretStore;
  /** How long an asynchronous operation takes. */
  delayMs: number;
  now: () => number;
}

export function runsAsync(mode: AsyncMode, acceptsIncomplete: boolean): boolean {
  return mode === 'required' || (mode === 'allowed' && acceptsIncomplete);
}

/** The next operation of a record: in progress until `delayMs` from now when async, else done. */
export function nextOperation(
  ctx: SampleContext,
  sequence: number,
  type: OperationType,
  async: boolean,
): Operation {
  return {
    id: `${type}-${sequence}`,
    type,
    state: async ? 'in progress' : 'succeeded',
    readyAt: async ? ctx.now() + ctx.delayMs : ctx.now(),
  };
}

export const inProgress = (record: StoredResource, type?: OperationType): boolean =>
  record.state.operation.state === 'in progress' &&
  (type === undefined || record.state.operation.type === type);

const removes = (type: OperationType): boolean => type === 'deprovision' || type === 'unbind';

/**
 * The record with its operation finished if its time has come: `deleted` when that removed it. A
 * concurrent writer wins a conflict; then the record is read again and settled once more.
 */
export async function settle(
  ctx: SampleContext,
  record: StoredResource,
  signal?: AbortSignal,
): Promise<StoredResource | 'deleted'> {
  for (let attempt = 0; ; attempt++) {
    const op = record.state.operation;
    if (op.state !== 'in progress' || ctx.now() < op.readyAt) return record;
    if (removes(op.type)) {
      if (record.kind === 'instance') await ctx.store.deleteBindingsOf(record.instanceId, signal);
      await ctx.store.delete(record, signal);
      return 'deleted';
    }
    record.state.operation = { ...op, state: 'succeeded', description: `${op.type} succeeded` };
    try {
      return await ctx.store.save(record, signal);
    } catch (err) {
      if (!isConflict(err) || attempt >= 3) throw err;
      const fresh = await ctx.store.get(record, signal);
      if (!fresh) return 'deleted';
      record = fresh;
    }
  }
}

/** Reads and settles a record; undefined when it does not exist (or was just removed). */
export async function load(
  ctx: SampleContext,
  key: { instanceId: string; bindingId?: string },
  signal?: AbortSignal,
): Promise<StoredResource | undefined> {
  const record = await ctx.store.get(key, signal);
  if (!record) return undefined;
  const settled = await settle(ctx, record, signal);
  return settled === 'deleted' ? undefined : settled;
}

/** The `last_operation` answer for a record (410 Gone once it no longer exists). */
export async function lastOperationOf(
  ctx: SampleContext,
  key: { instanceId: string; bindingId?: string },
  signal?: AbortSignal,
): Promise<LastOperationResponse> {
  const record = await ctx.store.get(key, signal);
  if (!record) throw BrokerError.notFound();
  const settled = await settle(ctx, record, signal);
  if (settled === 'deleted')
    return { state: 'succeeded', description: `${record.state.operation.type} succeeded` };
  const op = settled.state.operation;
  const answer: LastOperationResponse = { state: op.state };
  if (op.description !== undefined) answer.description = op.description;
  if (op.state === 'in progress') {
    answer.description = `${op.type} in progress`;
    answer.retryAfterSeconds = Math.max(1, Math.ceil((op.readyAt - ctx.now()) / 1000));
  }
  return answer;
}

/** Saves a record; a write that lost to another request is a ConcurrencyError for the platform. */
export async function saveOrConcurrency(
  ctx: SampleContext,
  record: StoredResource,
  signal?: AbortSignal,
): Promise<StoredResource> {
  try {
    return await ctx.store.save(record, signal);
  } catch (err) {
    if (isConflict(err)) throw BrokerError.concurrency();
    throw err;
  }
}

/**
 * A deprovision (of an instance, with its bindings) or unbind (of a binding): done at once (200), or
 * started for the next reader to finish once due (202), as `mode`, the record's plan, says; a repeat
 * while it runs answers the same 202.
 */
export async function remove(
  ctx: SampleContext,
  record: StoredResource,
  request: { mode: AsyncMode; acceptsIncomplete: boolean },
  signal?: AbortSignal,
): Promise<{ status: 200 } | { status: 202; operation: string }> {
  const type = record.kind === 'instance' ? 'deprovision' : 'unbind';
  if (inProgress(record, type)) {
    if (!request.acceptsIncomplete) {
      throw BrokerError.concurrency(
        record.kind === 'instance'
          ? 'The service instance is being deprovisioned.'
          : 'The service binding is being deleted.',
      );
    }
    return { status: 202, operation: record.state.operation.id };
  }
  // A removal during a provision, update or bind halts it, as the spec asks: it simply replaces it.
  if (!runsAsync(request.mode, request.acceptsIncomplete)) {
    if (record.kind === 'instance') await ctx.store.deleteBindingsOf(record.instanceId, signal);
    await ctx.store.delete(record, signal);
    return { status: 200 };
  }
  const sequence = record.state.sequence + 1;
  record.state = { ...record.state, sequence, operation: nextOperation(ctx, sequence, type, true) };
  await saveOrConcurrency(ctx, record, signal);
  return { status: 202, operation: record.state.operation.id };
}
