// Repeated PUTs. OSB: a PUT for an id that exists answers 200 when the request is identical (sync
// only), 202 with the same `operation` while the first is still in progress, and 409 when it differs.
// A broker stores the request it accepted and compares the next one with `samePut`; what counts is
// what the spec calls the resource's attributes, never `context` (names and annotations change).

import type { BindBody, JsonObject, ProvisionBody } from './broker.ts';

/** JSON equality that ignores key order and undefined values. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as JsonObject)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The attributes of a provision that must match for a repeated PUT to be "the same". */
export function provisionAttributes(body: ProvisionBody): JsonObject {
  return {
    service_id: body.service_id,
    plan_id: body.plan_id,
    organization_guid: body.organization_guid,
    space_guid: body.space_guid,
    parameters: body.parameters ?? {},
    maintenance_info: body.maintenance_info?.version,
  };
}

/** The attributes of a bind that must match for a repeated PUT to be "the same". */
export function bindAttributes(body: BindBody): JsonObject {
  return {
    service_id: body.service_id,
    plan_id: body.plan_id,
    app_guid: body.app_guid ?? body.bind_resource?.['app_guid'],
    bind_resource: body.bind_resource ?? {},
    parameters: body.parameters ?? {},
    predecessor_binding_id: body.predecessor_binding_id,
  };
}

export type RepeatedPut = 'new' | 'same' | 'different';

/**
 * How a PUT relates to what is stored for its id: `new` (nothing stored), `same` (answer 200, or 202
 * with the stored operation while it runs) or `different` (answer 409).
 */
export function compareProvision(stored: ProvisionBody | undefined, incoming: ProvisionBody): RepeatedPut {
  if (stored === undefined) return 'new';
  return sameJson(provisionAttributes(stored), provisionAttributes(incoming)) ? 'same' : 'different';
}

export function compareBind(stored: BindBody | undefined, incoming: BindBody): RepeatedPut {
  if (stored === undefined) return 'new';
  return sameJson(bindAttributes(stored), bindAttributes(incoming)) ? 'same' : 'different';
}
