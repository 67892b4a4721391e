// Request bodies checked field by field before a handler runs: required ids present, known fields of
// the right type (400 naming the field), unknown fields dropped. Then the catalog checks: the ids name a
// service and one of its plans, `maintenance_info` matches, and parameters satisfy the plan's schema.

import { isObject } from '@bindery/kube';
import type { BindBody, JsonObject, PreviousValues, ProvisionBody, UpdateBody } from './broker.ts';
import type { JsonSchema, MaintenanceInfo, ServicePlan } from './catalog.ts';
import { BrokerError } from './errors.ts';
import { validateParameters } from './schemas.ts';

const bad = (description: string): BrokerError => BrokerError.badRequest(description);

function requiredString(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined || value === null || value === '') throw bad(`${field} is required.`);
  if (typeof value !== 'string') throw bad(`${field} must be a string.`);
  return value;
}

function optionalString(body: JsonObject, field: string, path = field): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw bad(`${path} must be a string.`);
  return value;
}

function optionalObject(body: JsonObject, field: string, path = field): JsonObject | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw bad(`${path} must be an object.`);
  return value;
}

function maintenanceInfo(body: JsonObject, field: string): MaintenanceInfo | undefined {
  const value = optionalObject(body, field);
  if (value === undefined) return undefined;
  const version = requiredString(value, 'version');
  const description = optionalString(value, 'description', `${field}.description`);
  return description === undefined ? { version } : { version, description };
}

/** Puts `value` at `key` unless it is undefined (exactOptionalPropertyTypes). */
function set<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function context(body: JsonObject): JsonObject | undefined {
  const value = optionalObject(body, 'context');
  if (value !== undefined && value['platform'] !== undefined && typeof value['platform'] !== 'string') {
    throw bad('context.platform must be a string.');
  }
  return value;
}

export interface ProvisionBodyOptions {
  /** `organization_guid` and `space_guid` are REQUIRED by the spec though deprecated. Default true. */
  requireOrganizationGuids?: boolean;
}

export function parseProvisionBody(raw: JsonObject, options: ProvisionBodyOptions = {}): ProvisionBody {
  const body: ProvisionBody = {
    service_id: requiredString(raw, 'service_id'),
    plan_id: requiredString(raw, 'plan_id'),
  };
  if (options.requireOrganizationGuids ?? true) {
    body.organization_guid = requiredString(raw, 'organization_guid');
    body.space_guid = requiredString(raw, 'space_guid');
  } else {
    set(body, 'organization_guid', optionalString(raw, 'organization_guid'));
    set(body, 'space_guid', optionalString(raw, 'space_guid'));
  }
  set(body, 'context', context(raw));
  set(body, 'parameters', optionalObject(raw, 'parameters'));
  set(body, 'maintenance_info', maintenanceInfo(raw, 'maintenance_info'));
  return body;
}

export function parseUpdateBody(raw: JsonObject): UpdateBody {
  const body: UpdateBody = { service_id: requiredString(raw, 'service_id') };
  set(body, 'plan_id', optionalString(raw, 'plan_id'));
  set(body, 'context', context(raw));
  set(body, 'parameters', optionalObject(raw, 'parameters'));
  set(body, 'maintenance_info', maintenanceInfo(raw, 'maintenance_info'));
  const previous = optionalObject(raw, 'previous_values');
  if (previous !== undefined) {
    const values: PreviousValues = {};
    for (const field of ['service_id', 'plan_id', 'organization_id', 'space_id'] as const) {
      set(values, field, optionalString(previous, field, `previous_values.${field}`));
    }
    set(values, 'maintenance_info', maintenanceInfo(previous, 'maintenance_info'));
    body.previous_values = values;
  }
  return body;
}

export function parseBindBody(raw: JsonObject): BindBody {
  const body: BindBody = {
    service_id: requiredString(raw, 'service_id'),
    plan_id: requiredString(raw, 'plan_id'),
  };
  set(body, 'context', context(raw));
  set(body, 'app_guid', optionalString(raw, 'app_guid'));
  set(body, 'bind_resource', optionalObject(raw, 'bind_resource'));
  set(body, 'parameters', optionalObject(raw, 'parameters'));
  set(body, 'predecessor_binding_id', optionalString(raw, 'predecessor_binding_id'));
  return body;
}

/** `service_id` and `plan_id` of a DELETE's query, both REQUIRED. */
export function requiredQueryIds(query: URLSearchParams): { serviceId: string; planId: string } {
  const serviceId = query.get('service_id');
  const planId = query.get('plan_id');
  if (!serviceId) throw bad('The service_id query parameter is required.');
  if (!planId) throw bad('The plan_id query parameter is required.');
  return { serviceId, planId };
}

/**
 * `maintenance_info` of a request against the plan's: 422 MaintenanceInfoConflict when the versions
 * differ, or when the request names one and the plan has none.
 */
export function checkMaintenanceInfo(plan: ServicePlan, requested: MaintenanceInfo | undefined): void {
  if (requested === undefined) return;
  const offered = plan.maintenance_info?.version;
  if (offered === undefined) {
    throw BrokerError.maintenanceInfoConflict(
      `Plan ${JSON.stringify(plan.name)} has no maintenance_info, but the request names version ${JSON.stringify(requested.version)}.`,
    );
  }
  if (offered !== requested.version) {
    throw BrokerError.maintenanceInfoConflict(
      `The maintenance_info.version ${JSON.stringify(requested.version)} does not match plan ${JSON.stringify(plan.name)}'s ${JSON.stringify(offered)}.`,
    );
  }
}

/** 400 listing what in `parameters` breaks the plan's schema, if it has one. */
export function checkParameters(
  schema: JsonSchema | undefined,
  parameters: JsonObject | undefined,
  what: string,
): void {
  if (schema === undefined) return;
  let problems: string[];
  try {
    problems = validateParameters(schema, parameters);
  } catch (err) {
    // The catalog's schema itself is broken: the broker's fault, not the platform's.
    throw new BrokerError(500, {
      description: `The ${what} parameter schema of this plan cannot be compiled: ${(err as Error).message}`,
    });
  }
  if (problems.length > 0) {
    throw bad(`The ${what} parameters do not match the plan's schema: ${problems.join('; ')}.`);
  }
}
