// Checks that a broker's success body is the object the spec defines, so a malformed answer is
// told apart from a good one (the orphan-mitigation table treats them differently). Each check
// returns the first problem as a field path and what was expected, never the value.
import { isObject } from '@bindery/kube';

export type Check = (body: unknown) => string | undefined;

type FieldType = 'string' | 'boolean' | 'number' | 'object' | 'array';

function typeOf(value: unknown): FieldType | 'null' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (isObject(value)) return 'object';
  const t = typeof value;
  return t === 'string' || t === 'boolean' || t === 'number' ? t : 'other';
}

/** Optional fields of `obj` (at `path`) that, when present, must have the given type. */
function optional(
  obj: Record<string, unknown>,
  path: string,
  fields: Record<string, FieldType>,
): string | undefined {
  for (const [name, type] of Object.entries(fields)) {
    const value = obj[name];
    if (value !== undefined && typeOf(value) !== type)
      return `${path}${name} is not a${type === 'object' || type === 'array' ? 'n' : ''} ${type}`;
  }
  return undefined;
}

function required(
  obj: Record<string, unknown>,
  path: string,
  fields: Record<string, FieldType>,
): string | undefined {
  for (const name of Object.keys(fields)) {
    if (obj[name] === undefined) return `${path}${name} is missing`;
  }
  return optional(obj, path, fields);
}

const notObject = 'the body is not a JSON object';

/** The spec caps `operation` at 10,000 characters. */
const maxOperation = 10_000;

function operation(body: Record<string, unknown>): string | undefined {
  const problem = optional(body, '', { operation: 'string' });
  if (problem !== undefined) return problem;
  const op = body['operation'];
  return typeof op === 'string' && op.length > maxOperation
    ? `operation is longer than ${maxOperation} characters`
    : undefined;
}

export const checkCatalog: Check = (body) => {
  if (!isObject(body)) return notObject;
  const services = body['services'];
  if (!Array.isArray(services)) return 'services is not an array';
  for (const [i, service] of services.entries()) {
    const at = `services[${i}].`;
    if (!isObject(service)) return `services[${i}] is not an object`;
    const problem =
      required(service, at, { id: 'string', name: 'string', plans: 'array' }) ??
      optional(service, at, {
        description: 'string',
        bindable: 'boolean',
        tags: 'array',
        requires: 'array',
        metadata: 'object',
        instances_retrievable: 'boolean',
        bindings_retrievable: 'boolean',
        allow_context_updates: 'boolean',
        plan_updateable: 'boolean',
      });
    if (problem !== undefined) return problem;
    for (const [j, plan] of (service['plans'] as unknown[]).entries()) {
      const planAt = `${at}plans[${j}].`;
      if (!isObject(plan)) return `${at}plans[${j}] is not an object`;
      const planProblem =
        required(plan, planAt, { id: 'string', name: 'string' }) ??
        optional(plan, planAt, {
          description: 'string',
          metadata: 'object',
          free: 'boolean',
          bindable: 'boolean',
          binding_rotatable: 'boolean',
          plan_updateable: 'boolean',
          schemas: 'object',
          maximum_polling_duration: 'number',
          maintenance_info: 'object',
        });
      if (planProblem !== undefined) return planProblem;
    }
  }
  return undefined;
};

/** Provision and update: 200/201/202 bodies. */
export const checkInstanceResponse: Check = (body) => {
  if (!isObject(body)) return notObject;
  return optional(body, '', { dashboard_url: 'string', metadata: 'object' }) ?? operation(body);
};

/** Deprovision and unbind: 200/202. */
export const checkAsyncOperation: Check = (body) => (isObject(body) ? operation(body) : notObject);

const states = new Set(['in progress', 'succeeded', 'failed']);

export const checkLastOperation: Check = (body) => {
  if (!isObject(body)) return notObject;
  if (!states.has(body['state'] as string)) return 'state is not one of "in progress", "succeeded", "failed"';
  return optional(body, '', {
    description: 'string',
    instance_usable: 'boolean',
    update_repeatable: 'boolean',
  });
};

export const checkGetInstance: Check = (body) => {
  if (!isObject(body)) return notObject;
  return optional(body, '', {
    service_id: 'string',
    plan_id: 'string',
    dashboard_url: 'string',
    parameters: 'object',
    maintenance_info: 'object',
    metadata: 'object',
  });
};

function bindingBody(body: Record<string, unknown>): string | undefined {
  const problem = optional(body, '', {
    credentials: 'object',
    endpoints: 'array',
    metadata: 'object',
    parameters: 'object',
  });
  if (problem !== undefined) return problem;
  const metadata = body['metadata'];
  if (isObject(metadata))
    return optional(metadata, 'metadata.', { expires_at: 'string', renew_before: 'string' });
  return undefined;
}

/** Bind: 200/201 carry the binding, 202 an operation. */
export const checkBindResponse: Check = (body) => {
  if (!isObject(body)) return notObject;
  return bindingBody(body) ?? operation(body);
};

export const checkGetBinding: Check = (body) => (isObject(body) ? bindingBody(body) : notObject);
