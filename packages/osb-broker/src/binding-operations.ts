// The Service Binding endpoints: bind (PUT), unbind (DELETE), fetch (GET) and last_operation.

import { isBindable } from './catalog.ts';
import type { Call, Reply } from './dispatch.ts';
import {
  acceptedOperation,
  acceptsIncomplete,
  checkAsync,
  checkAsyncReply,
  defined,
  deleteTarget,
  resolveHints,
  resolvePlan,
} from './dispatch.ts';
import { BrokerError } from './errors.ts';
import { lastOperationReply } from './instance-operations.ts';
import { checkParameters, parseBindBody } from './validation.ts';

const ids = (call: Call): { instanceId: string; bindingId: string } => ({
  instanceId: call.route.instanceId ?? '',
  bindingId: call.route.bindingId ?? '',
});

export async function bind(call: Call): Promise<Reply> {
  const body = parseBindBody(await call.body());
  const target = await resolvePlan(call, body.service_id, body.plan_id);
  if (!isBindable(target.service, target.plan)) {
    throw BrokerError.badRequest(`Plan ${JSON.stringify(target.plan.name)} is not bindable.`);
  }
  if (body.predecessor_binding_id !== undefined && !target.plan.binding_rotatable) {
    throw BrokerError.badRequest(
      `Plan ${JSON.stringify(target.plan.name)} does not rotate bindings: predecessor_binding_id is not allowed.`,
    );
  }
  checkParameters(target.plan.schemas?.service_binding?.create?.parameters, body.parameters, 'bind');
  checkAsync(call, 'bind', target);
  const res = await call.broker.bind(
    { ...target, ...ids(call), acceptsIncomplete: acceptsIncomplete(call.query), body },
    call.ctx,
  );
  if (res.status === 202) {
    checkAsyncReply(call, res.status, res.operation);
    // Only what a 202 may carry: never credentials.
    return { status: 202, body: defined({ operation: res.operation, metadata: res.metadata }) };
  }
  const { status, ...binding } = res;
  return { status, body: defined(binding) };
}

export async function unbind(call: Call): Promise<Reply> {
  const target = await deleteTarget(call, 'unbind');
  const res = await call.broker.unbind(
    { ...ids(call), ...target, acceptsIncomplete: acceptsIncomplete(call.query) },
    call.ctx,
  );
  return { status: res.status, body: defined({ operation: acceptedOperation(call, res) }) };
}

export async function getBinding(call: Call): Promise<Reply> {
  if (!call.broker.getBinding) throw BrokerError.notFound('This broker does not serve bindings.');
  const res = await call.broker.getBinding({ ...ids(call), ...(await resolveHints(call)) }, call.ctx);
  return { status: 200, body: defined({ ...res }) };
}

export async function bindingLastOperation(call: Call): Promise<Reply> {
  if (!call.broker.bindingLastOperation) {
    throw new BrokerError(404, { description: 'This broker does not bind asynchronously.' });
  }
  const operation = call.query.get('operation');
  const res = await call.broker.bindingLastOperation(
    { ...ids(call), ...(await resolveHints(call)), ...(operation !== null && { operation }) },
    call.ctx,
  );
  return lastOperationReply(res);
}
