// Request and response bodies of OSB 2.17, as the spec names their fields. Only what the platform
// sends or reads is typed; brokers may add fields, which pass through untouched.
import type { MaintenanceInfo } from '../apis/plan.ts';

export const apiVersionHeader = 'X-Broker-API-Version';
export const originatingIdentityHeader = 'X-Broker-API-Originating-Identity';
export const requestIdentityHeader = 'X-Broker-API-Request-Identity';
/** The OSB version this client speaks. */
export const osbApiVersion = '2.17';

/** The `error` codes the spec defines for 4xx answers. */
export type OsbErrorCode = 'AsyncRequired' | 'ConcurrencyError' | 'RequiresApp' | 'MaintenanceInfoConflict';

export type { MaintenanceInfo } from '../apis/plan.ts';

export interface CatalogSchemas {
  service_instance?: {
    create?: { parameters?: Record<string, unknown> };
    update?: { parameters?: Record<string, unknown> };
  };
  service_binding?: {
    create?: { parameters?: Record<string, unknown> };
  };
}

export interface CatalogPlan {
  id: string;
  name: string;
  description: string;
  metadata?: Record<string, unknown>;
  free?: boolean;
  bindable?: boolean;
  binding_rotatable?: boolean;
  plan_updateable?: boolean;
  schemas?: CatalogSchemas;
  maximum_polling_duration?: number;
  maintenance_info?: MaintenanceInfo;
}

export interface CatalogService {
  id: string;
  name: string;
  description: string;
  bindable: boolean;
  tags?: string[];
  requires?: string[];
  instances_retrievable?: boolean;
  bindings_retrievable?: boolean;
  allow_context_updates?: boolean;
  metadata?: Record<string, unknown>;
  plan_updateable?: boolean;
  plans: CatalogPlan[];
}

export interface Catalog {
  services: CatalogService[];
}

/** Fields common to every request on one instance. */
export interface InstanceRequest {
  instanceId: string;
}

export interface ProvisionRequest extends InstanceRequest {
  body: {
    service_id: string;
    plan_id: string;
    context?: Record<string, unknown>;
    organization_guid?: string;
    space_guid?: string;
    parameters?: Record<string, unknown>;
    maintenance_info?: MaintenanceInfo;
  };
}

export interface ProvisionResponse {
  dashboard_url?: string;
  operation?: string;
  metadata?: { labels?: Record<string, unknown>; attributes?: Record<string, unknown> };
}

export interface UpdateRequest extends InstanceRequest {
  body: {
    service_id: string;
    plan_id?: string;
    context?: Record<string, unknown>;
    parameters?: Record<string, unknown>;
    previous_values?: {
      service_id?: string;
      plan_id?: string;
      organization_id?: string;
      space_id?: string;
      maintenance_info?: MaintenanceInfo;
    };
    maintenance_info?: MaintenanceInfo;
  };
}

export type UpdateResponse = ProvisionResponse;

export interface DeprovisionRequest extends InstanceRequest {
  serviceId: string;
  planId: string;
}

export interface AsyncOperationResponse {
  operation?: string;
}

export interface InstanceLastOperationRequest extends InstanceRequest {
  operation?: string;
  serviceId?: string;
  planId?: string;
}

export type OperationState = 'in progress' | 'succeeded' | 'failed';

export interface LastOperationResponse {
  state: OperationState;
  description?: string;
  instance_usable?: boolean;
  update_repeatable?: boolean;
}

export interface GetInstanceRequest extends InstanceRequest {
  serviceId?: string;
  planId?: string;
}

export interface GetInstanceResponse {
  service_id?: string;
  plan_id?: string;
  dashboard_url?: string;
  parameters?: Record<string, unknown>;
  maintenance_info?: MaintenanceInfo;
  metadata?: { labels?: Record<string, unknown>; attributes?: Record<string, unknown> };
}

export interface BindingRequest extends InstanceRequest {
  bindingId: string;
}

export interface BindRequest extends BindingRequest {
  body: {
    service_id: string;
    plan_id: string;
    context?: Record<string, unknown>;
    bind_resource?: Record<string, unknown>;
    parameters?: Record<string, unknown>;
    /** 2.17 rotation: the binding this one replaces. */
    predecessor_binding_id?: string;
  };
}

export interface BindingEndpoint {
  host: string;
  ports: string[];
  protocol?: 'tcp' | 'udp' | 'all';
}

export interface BindingMetadata {
  expires_at?: string;
  renew_before?: string;
}

export interface BindResponse {
  /** Free-form; the platform checks only that it is an object. */
  credentials?: Record<string, unknown>;
  endpoints?: BindingEndpoint[];
  metadata?: BindingMetadata;
  operation?: string;
}

export interface UnbindRequest extends BindingRequest {
  serviceId: string;
  planId: string;
}

export interface BindingLastOperationRequest extends BindingRequest {
  operation?: string;
  serviceId?: string;
  planId?: string;
}

export interface GetBindingRequest extends BindingRequest {
  serviceId?: string;
  planId?: string;
}

export interface GetBindingResponse {
  credentials?: Record<string, unknown>;
  endpoints?: BindingEndpoint[];
  metadata?: BindingMetadata;
  parameters?: Record<string, unknown>;
}

/** The error body of a non-2xx answer. */
export interface OsbErrorBody {
  error?: string;
  description?: string;
  instance_usable?: boolean;
  update_repeatable?: boolean;
}
