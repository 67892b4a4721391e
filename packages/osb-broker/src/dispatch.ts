// What the operation handlers share: the parsed call, the reply, the catalog look-ups and the checks
// every mutating operation makes before the broker's handler runs.

import type {
  Broker,
  DeleteTarget,
  JsonObject,
  MutatingOperation,
  PlanRef,
  RequestContext,
} from './broker.ts';
import { findPlan } from './catalog.ts';
import type { Catalog, ServiceOffering, ServicePlan } from './catalog.ts';
import { BrokerError } from './errors.ts';
import type { Route } from './routes.ts';
import { requiredQueryIds } from './validation.ts';

export interface Call {
  route: Route;
  query: URLSearchParams;
  /** Reads and parses the body (a JSON object), lazily: only operations with a body call it. */
  body: () => Promise<JsonObject>;
  ctx: RequestContext;
  broker: Broker;
  requireOrganizationGuids: boolean;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The spec bounds `operation` at 10,000 characters. */
const MAX_OPERATION_LENGTH = 10_000;

export function acceptsIncomplete(query: URLSearchParams): boolean {
  return query.get('accepts_incomplete') === 'true';
}

/** The service and plan a request body names; 400 when either is unknown. */
export async function resolvePlan(call: Call, serviceId: string, planId: string): Promise<PlanRef> {
  const found = findPlan(await call.broker.catalog(call.ctx), serviceId, planId);
  if (typeof found === 'string') throw BrokerError.badRequest(`${found}.`);
  return found;
}

export async function catalogOf(call: Call): Promise<Catalog> {
  return call.broker.catalog(call.ctx);
}

/** The service and plan of optional query hints, when both are sent and known. */
export async function resolveHints(call: Call): Promise<{ service?: ServiceOffering; plan?: ServicePlan }> {
  const serviceId = call.query.get('service_id');
  const planId = call.query.get('plan_id');
  if (!serviceId || !planId) return {};
  const found = findPlan(await catalogOf(call), serviceId, planId);
  return typeof found === 'string' ? {} : found;
}

/** 422 AsyncRequired before the handler runs, when the broker says this can only run asynchronously. */
export function checkAsync(call: Call, operation: MutatingOperation, target: PlanRef | undefined): void {
  if (target && !acceptsIncomplete(call.query) && call.broker.requiresAsync?.(operation, target)) {
    throw BrokerError.asyncRequired();
  }
}

/** A handler answered 202 to a request that did not accept it, or with an over-long `operation`. */
export function checkAsyncReply(call: Call, status: number, operation: string | undefined): void {
  if (status === 202 && !acceptsIncomplete(call.query)) {
    throw new Error(
      `the broker answered ${call.route.operation} with 202 to a request without accepts_incomplete=true; it must throw BrokerError.asyncRequired() instead`,
    );
  }
  if (operation !== undefined && operation.length > MAX_OPERATION_LENGTH) {
    throw new Error(
      `the broker's operation for ${call.route.operation} is over ${MAX_OPERATION_LENGTH} characters`,
    );
  }
}

/**
 * What a DELETE (deprovision, unbind) names: the query's `service_id` and `plan_id`, and the plan while
 * the catalog still has it; 422 AsyncRequired as `checkAsync` says.
 */
export async function deleteTarget(call: Call, operation: MutatingOperation): Promise<DeleteTarget> {
  const { serviceId, planId } = requiredQueryIds(call.query);
  const found = findPlan(await catalogOf(call), serviceId, planId);
  const target = typeof found === 'string' ? undefined : found;
  checkAsync(call, operation, target);
  return { serviceId, planId, ...target };
}

/** The `operation` of a handler's answer, set on a 202 only, checked by `checkAsyncReply`. */
export function acceptedOperation(
  call: Call,
  res: { status: number } | { status: 202; operation?: string },
): string | undefined {
  const operation = res.status === 202 && 'operation' in res ? res.operation : undefined;
  checkAsyncReply(call, res.status, operation);
  return operation;
}

/** A copy of `value` without undefined fields, so the JSON says only what the broker set. */
export function defined(value: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = v;
  return out;
}

/** `Retry-After` in seconds, from a handler's `retryAfterSeconds`. */
export function retryAfter(seconds: number | undefined): Record<string, string> | undefined {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined;
  return { 'retry-after': String(Math.ceil(seconds)) };
}
