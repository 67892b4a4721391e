// The catalog a broker advertises (`GET /v2/catalog`), with the OSB 2.17 field names as they travel.

/** A JSON Schema as the catalog carries it; `$schema` names the draft (04, 06, 07, 2019-09, 2020-12). */
export type JsonSchema = Record<string, unknown>;

export interface MaintenanceInfo {
  /** SemVer 2.0. */
  version: string;
  description?: string;
}

export interface SchemaParameters {
  parameters?: JsonSchema;
}

export interface PlanSchemas {
  service_instance?: { create?: SchemaParameters; update?: SchemaParameters };
  service_binding?: { create?: SchemaParameters };
}

export interface ServicePlan {
  /** Globally unique and immutable: platforms correlate plans by it, never by name. */
  id: string;
  name: string;
  description: string;
  metadata?: Record<string, unknown>;
  /** Default true. */
  free?: boolean;
  /** Overrides the offering's `bindable`. */
  bindable?: boolean;
  binding_rotatable?: boolean;
  /** Overrides the offering's `plan_updateable` (the spelling is the spec's). */
  plan_updateable?: boolean;
  schemas?: PlanSchemas;
  /** Seconds the platform should poll an asynchronous operation of this plan before giving up. */
  maximum_polling_duration?: number;
  maintenance_info?: MaintenanceInfo;
}

export interface ServiceOffering {
  id: string;
  name: string;
  description: string;
  bindable: boolean;
  tags?: string[];
  requires?: ('syslog_drain' | 'route_forwarding' | 'volume_mount')[];
  instances_retrievable?: boolean;
  bindings_retrievable?: boolean;
  allow_context_updates?: boolean;
  metadata?: Record<string, unknown>;
  dashboard_client?: { id: string; secret: string; redirect_uri?: string };
  plan_updateable?: boolean;
  plans: ServicePlan[];
}

export interface Catalog {
  services: ServiceOffering[];
}

/** The offering and plan a request names, or a message saying which id is unknown. */
export function findPlan(
  catalog: Catalog,
  serviceId: string,
  planId: string,
): { service: ServiceOffering; plan: ServicePlan } | string {
  const service = catalog.services.find((s) => s.id === serviceId);
  if (!service) return `service_id ${JSON.stringify(serviceId)} is not in the catalog`;
  const plan = service.plans.find((p) => p.id === planId);
  if (!plan) {
    return `plan_id ${JSON.stringify(planId)} is not a plan of service ${JSON.stringify(service.name)}`;
  }
  return { service, plan };
}

export const isBindable = (service: ServiceOffering, plan: ServicePlan): boolean =>
  plan.bindable ?? service.bindable;

export const isPlanUpdateable = (service: ServiceOffering, plan: ServicePlan): boolean =>
  plan.plan_updateable ?? service.plan_updateable ?? false;
