// Instances of the sample broker: provision creates the instance's Secret with generated credentials,
// update changes its plan and parameters, deprovision deletes it and its bindings' Secrets.

import type {
  DeprovisionRequest,
  DeprovisionResponse,
  GetInstanceRequest,
  GetInstanceResponse,
  ProvisionBody,
  ProvisionRequest,
  ProvisionResponse,
  UpdateRequest,
  UpdateResponse,
} from '../broker.ts';
import { isPlanUpdateable } from '../catalog.ts';
import { BrokerError } from '../errors.ts';
import { compareProvision } from '../store.ts';
import { planBehaviour, sampleCatalog } from './catalog.ts';
import type { PlanBehaviour } from './catalog.ts';
import { instanceCredentials } from './credentials.ts';
import { inProgress, load, nextOperation, remove, runsAsync, saveOrConcurrency } from './operations.ts';
import type { SampleContext } from './operations.ts';
import type { StoredResource } from './state.ts';

export function behaviourOf(planId: string): PlanBehaviour {
  const behaviour = planBehaviour[planId];
  if (!behaviour)
    throw BrokerError.badRequest(`plan_id ${JSON.stringify(planId)} is not a plan of this broker.`);
  return behaviour;
}

export interface SampleBrokerContext extends SampleContext {
  dashboardBaseUrl: string;
  namespace: string;
}

type Context = SampleBrokerContext;

export function dashboardUrl(ctx: Context, instanceId: string): string {
  return `${ctx.dashboardBaseUrl}/instances/${encodeURIComponent(instanceId)}`;
}

export async function provision(
  ctx: Context,
  req: ProvisionRequest,
  signal: AbortSignal,
): Promise<ProvisionResponse> {
  const key = { instanceId: req.instanceId };
  const existing = await load(ctx, key, signal);
  if (existing) return repeatedProvision(ctx, existing, req);
  const behaviour = behaviourOf(req.plan.id);
  const async = runsAsync(behaviour.instances, req.acceptsIncomplete);
  const operation = nextOperation(ctx, 1, 'provision', async);
  const record: StoredResource = {
    kind: 'instance',
    instanceId: req.instanceId,
    state: {
      serviceId: req.service.id,
      planId: req.plan.id,
      sequence: 1,
      operation,
      parameters: req.body.parameters ?? {},
      ...(req.body.maintenance_info && { maintenanceVersion: req.body.maintenance_info.version }),
    },
    request: { ...req.body },
    credentials: instanceCredentials({
      instanceId: req.instanceId,
      namespace: ctx.namespace,
      flavour: behaviour.flavour,
      parameters: req.body.parameters,
    }),
  };
  const created = await ctx.store.create(record, signal);
  if (created !== 'created') return repeatedProvision(ctx, created, req);
  const dashboard_url = dashboardUrl(ctx, req.instanceId);
  return async ? { status: 202, operation: operation.id, dashboard_url } : { status: 201, dashboard_url };
}

/** A PUT for an instance that exists: 409 if it differs, 202 while the first runs, else 200. */
function repeatedProvision(ctx: Context, existing: StoredResource, req: ProvisionRequest): ProvisionResponse {
  if (compareProvision(existing.request as unknown as ProvisionBody, req.body) === 'different') {
    throw BrokerError.conflict('The service instance already exists with different attributes.');
  }
  const dashboard_url = dashboardUrl(ctx, req.instanceId);
  if (inProgress(existing, 'provision')) {
    // The first PUT is still running; a synchronous retry cannot be told "done".
    if (!req.acceptsIncomplete) throw BrokerError.concurrency('The service instance is being provisioned.');
    return { status: 202, operation: existing.state.operation.id, dashboard_url };
  }
  if (inProgress(existing)) throw BrokerError.concurrency();
  return { status: 200, dashboard_url };
}

export async function update(ctx: Context, req: UpdateRequest, signal: AbortSignal): Promise<UpdateResponse> {
  const existing = await load(ctx, { instanceId: req.instanceId }, signal);
  if (!existing) throw BrokerError.notFound('The service instance does not exist.');
  if (inProgress(existing, 'update') && req.acceptsIncomplete) {
    return { status: 202, operation: existing.state.operation.id };
  }
  if (inProgress(existing)) throw BrokerError.concurrency();
  const current = existing.state.planId;
  const planId = req.body.plan_id ?? current;
  if (planId !== current) {
    const service = sampleCatalog.services.find((s) => s.id === existing.state.serviceId);
    const plan = service?.plans.find((p) => p.id === current);
    if (service && plan && !isPlanUpdateable(service, plan)) {
      throw BrokerError.unprocessable(`Plan ${JSON.stringify(plan.name)} cannot be changed to another plan.`);
    }
  }
  const async = runsAsync(behaviourOf(planId).instances, req.acceptsIncomplete);
  if (!async && behaviourOf(planId).instances === 'required') throw BrokerError.asyncRequired();
  const sequence = existing.state.sequence + 1;
  const operation = nextOperation(ctx, sequence, 'update', async);
  existing.state = {
    ...existing.state,
    planId,
    sequence,
    operation,
    parameters: { ...existing.state.parameters, ...req.body.parameters },
    ...(req.body.maintenance_info && { maintenanceVersion: req.body.maintenance_info.version }),
  };
  await saveOrConcurrency(ctx, existing, signal);
  return async ? { status: 202, operation: operation.id } : { status: 200 };
}

export async function deprovision(
  ctx: Context,
  req: DeprovisionRequest,
  signal: AbortSignal,
): Promise<DeprovisionResponse> {
  const existing = await load(ctx, { instanceId: req.instanceId }, signal);
  if (!existing) throw BrokerError.notFound();
  const mode = behaviourOf(existing.state.planId).instances;
  return remove(ctx, existing, { mode, acceptsIncomplete: req.acceptsIncomplete }, signal);
}

export async function getInstance(
  ctx: Context,
  req: GetInstanceRequest,
  signal: AbortSignal,
): Promise<GetInstanceResponse> {
  const existing = await load(ctx, { instanceId: req.instanceId }, signal);
  // Not found, and also while it is still being provisioned (the spec's 404).
  if (!existing || inProgress(existing, 'provision'))
    throw BrokerError.notFound('The service instance does not exist.');
  if (inProgress(existing, 'update')) throw BrokerError.concurrency('The service instance is being updated.');
  const answer: GetInstanceResponse = {
    service_id: existing.state.serviceId,
    plan_id: existing.state.planId,
    dashboard_url: dashboardUrl(ctx, req.instanceId),
    parameters: existing.state.parameters ?? {},
  };
  if (existing.state.maintenanceVersion !== undefined) {
    answer.maintenance_info = { version: existing.state.maintenanceVersion };
  }
  return answer;
}
