// The Service Instance endpoints: provision (PUT), update (PATCH), deprovision (DELETE), fetch (GET)
// and last_operation. Each checks the request, runs the broker's handler, and shapes the answer.

import type { LastOperationResponse, UpdateRequest } from './broker.ts';
import { findPlan, isPlanUpdateable } from './catalog.ts';
import type { Call, Reply } from './dispatch.ts';
import {
  acceptedOperation,
  acceptsIncomplete,
  catalogOf,
  checkAsync,
  defined,
  deleteTarget,
  resolveHints,
  resolvePlan,
  retryAfter,
} from './dispatch.ts';
import { BrokerError } from './errors.ts';
import { checkMaintenanceInfo, checkParameters, parseProvisionBody, parseUpdateBody } from './validation.ts';

const instanceId = (call: Call): string => call.route.instanceId ?? '';

export async function provision(call: Call): Promise<Reply> {
  const body = parseProvisionBody(await call.body(), {
    requireOrganizationGuids: call.requireOrganizationGuids,
  });
  const target = await resolvePlan(call, body.service_id, body.plan_id);
  checkMaintenanceInfo(target.plan, body.maintenance_info);
  checkParameters(target.plan.schemas?.service_instance?.create?.parameters, body.parameters, 'provision');
  checkAsync(call, 'provision', target);
  const res = await call.broker.provision(
    { ...target, instanceId: instanceId(call), acceptsIncomplete: acceptsIncomplete(call.query), body },
    call.ctx,
  );
  const operation = acceptedOperation(call, res);
  return {
    status: res.status,
    body: defined({ dashboard_url: res.dashboard_url, operation, metadata: res.metadata }),
  };
}

export async function update(call: Call): Promise<Reply> {
  const body = parseUpdateBody(await call.body());
  const catalog = await catalogOf(call);
  const service = catalog.services.find((s) => s.id === body.service_id);
  if (!service)
    throw BrokerError.badRequest(`service_id ${JSON.stringify(body.service_id)} is not in the catalog.`);
  const previousPlanId = body.previous_values?.plan_id;
  const previousPlan = service.plans.find((p) => p.id === previousPlanId);
  let plan = previousPlan;
  if (body.plan_id !== undefined) {
    const found = findPlan(catalog, body.service_id, body.plan_id);
    if (typeof found === 'string') throw BrokerError.badRequest(`${found}.`);
    plan = found.plan;
    if (previousPlan && previousPlan.id !== plan.id && !isPlanUpdateable(service, previousPlan)) {
      throw BrokerError.unprocessable(
        `Plan ${JSON.stringify(previousPlan.name)} cannot be changed to another plan (plan_updateable is false).`,
      );
    }
  }
  if (plan) {
    checkMaintenanceInfo(plan, body.maintenance_info);
    checkParameters(plan.schemas?.service_instance?.update?.parameters, body.parameters, 'update');
    checkAsync(call, 'update', { service, plan });
  }
  const request: UpdateRequest = {
    instanceId: instanceId(call),
    acceptsIncomplete: acceptsIncomplete(call.query),
    body,
    service,
  };
  if (plan) request.plan = plan;
  if (previousPlan) request.previousPlan = previousPlan;
  const res = await call.broker.update(request, call.ctx);
  const operation = acceptedOperation(call, res);
  return {
    status: res.status,
    body: defined({ dashboard_url: res.dashboard_url, operation, metadata: res.metadata }),
  };
}

export async function deprovision(call: Call): Promise<Reply> {
  const target = await deleteTarget(call, 'deprovision');
  const res = await call.broker.deprovision(
    { instanceId: instanceId(call), ...target, acceptsIncomplete: acceptsIncomplete(call.query) },
    call.ctx,
  );
  const operation = acceptedOperation(call, res);
  return { status: res.status, body: defined({ operation }) };
}

export async function getInstance(call: Call): Promise<Reply> {
  if (!call.broker.getInstance) throw BrokerError.notFound('This broker does not serve instances.');
  const res = await call.broker.getInstance(
    { instanceId: instanceId(call), ...(await resolveHints(call)) },
    call.ctx,
  );
  return { status: 200, body: defined({ ...res }) };
}

export async function lastOperation(call: Call): Promise<Reply> {
  const operation = call.query.get('operation');
  const res = await call.broker.lastOperation(
    {
      instanceId: instanceId(call),
      ...(await resolveHints(call)),
      ...(operation !== null && { operation }),
    },
    call.ctx,
  );
  return lastOperationReply(res);
}

export function lastOperationReply(res: LastOperationResponse): Reply {
  if (!['in progress', 'succeeded', 'failed'].includes(res.state)) {
    throw new Error(`the broker answered last_operation with state ${JSON.stringify(res.state)}`);
  }
  const { retryAfterSeconds, ...body } = res;
  const headers = retryAfter(retryAfterSeconds);
  return { status: 200, body: defined(body), ...(headers && { headers }) };
}
