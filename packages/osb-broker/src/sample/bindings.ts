// Bindings of the sample broker: each has its own Secret with credentials derived from the instance's
// (its own user and password), created at bind and deleted at unbind.

import type {
  BindBody,
  BindRequest,
  BindResponse,
  Endpoint,
  GetBindingRequest,
  GetBindingResponse,
  UnbindRequest,
  UnbindResponse,
} from '../broker.ts';
import { BrokerError } from '../errors.ts';
import { compareBind } from '../store.ts';
import { bindingCredentials } from './credentials.ts';
import { behaviourOf } from './instances.ts';
import { inProgress, load, nextOperation, remove, runsAsync } from './operations.ts';
import type { SampleContext } from './operations.ts';
import type { StoredResource } from './state.ts';

function endpoints(credentials: Record<string, string>): Endpoint[] {
  return [{ host: credentials['host'] ?? '', ports: [credentials['port'] ?? ''], protocol: 'tcp' }];
}

export async function bind(ctx: SampleContext, req: BindRequest, signal: AbortSignal): Promise<BindResponse> {
  const instance = await load(ctx, { instanceId: req.instanceId }, signal);
  if (!instance) throw BrokerError.badRequest('The service instance does not exist.');
  if (inProgress(instance)) {
    throw BrokerError.concurrency(`The service instance has a ${instance.state.operation.type} in progress.`);
  }
  const key = { instanceId: req.instanceId, bindingId: req.bindingId };
  const existing = await load(ctx, key, signal);
  if (existing) return repeatedBind(existing, req);
  const predecessor = req.body.predecessor_binding_id;
  if (predecessor !== undefined) {
    // Rotation: a new binding next to a live one of the same instance; both stay valid.
    const previous = await load(ctx, { instanceId: req.instanceId, bindingId: predecessor }, signal);
    if (!previous || inProgress(previous)) {
      throw BrokerError.badRequest('predecessor_binding_id names no binding of this service instance.');
    }
  }
  const behaviour = behaviourOf(instance.state.planId);
  const async = runsAsync(behaviour.bindings, req.acceptsIncomplete);
  const operation = nextOperation(ctx, 1, 'bind', async);
  const record: StoredResource = {
    kind: 'binding',
    instanceId: req.instanceId,
    bindingId: req.bindingId,
    state: { serviceId: req.service.id, planId: req.plan.id, sequence: 1, operation },
    request: { ...req.body },
    credentials: bindingCredentials({
      instance: instance.credentials,
      bindingId: req.bindingId,
      flavour: behaviour.flavour,
      parameters: req.body.parameters,
    }),
  };
  const created = await ctx.store.create(record, signal);
  if (created !== 'created') return repeatedBind(created, req);
  if (async) return { status: 202, operation: operation.id };
  return { status: 201, credentials: record.credentials, endpoints: endpoints(record.credentials) };
}

/** A PUT for a binding that exists: 409 if it differs, 202 while the first runs, else 200. */
function repeatedBind(existing: StoredResource, req: BindRequest): BindResponse {
  if (compareBind(existing.request as unknown as BindBody, req.body) === 'different') {
    throw BrokerError.conflict('The service binding already exists with different attributes.');
  }
  if (inProgress(existing, 'bind')) {
    if (!req.acceptsIncomplete) throw BrokerError.concurrency('The service binding is being created.');
    return { status: 202, operation: existing.state.operation.id };
  }
  if (inProgress(existing)) throw BrokerError.concurrency();
  return { status: 200, credentials: existing.credentials, endpoints: endpoints(existing.credentials) };
}

export async function unbind(
  ctx: SampleContext,
  req: UnbindRequest,
  signal: AbortSignal,
): Promise<UnbindResponse> {
  const existing = await load(ctx, { instanceId: req.instanceId, bindingId: req.bindingId }, signal);
  if (!existing) throw BrokerError.notFound();
  const mode = behaviourOf(existing.state.planId).bindings;
  return remove(ctx, existing, { mode, acceptsIncomplete: req.acceptsIncomplete }, signal);
}

export async function getBinding(
  ctx: SampleContext,
  req: GetBindingRequest,
  signal: AbortSignal,
): Promise<GetBindingResponse> {
  const existing = await load(ctx, { instanceId: req.instanceId, bindingId: req.bindingId }, signal);
  // Not found, and also while the bind is still in progress (the spec's 404).
  if (!existing || inProgress(existing, 'bind'))
    throw BrokerError.notFound('The service binding does not exist.');
  const parameters = existing.request['parameters'];
  return {
    credentials: existing.credentials,
    endpoints: endpoints(existing.credentials),
    ...(typeof parameters === 'object' &&
      parameters !== null && { parameters: parameters as Record<string, unknown> }),
  };
}
