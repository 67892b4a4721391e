// The interface a broker author implements: one method per OSB 2.17 operation, each with a typed
// request (checked and resolved against the catalog before the method runs) and a typed response.
// Wire fields keep the spec's snake_case names; what the server adds is camelCase.

import type { Catalog, MaintenanceInfo, ServiceOffering, ServicePlan } from './catalog.ts';

export type JsonObject = Record<string, unknown>;

/** `X-Broker-API-Originating-Identity`, decoded: for Kubernetes `{username, uid, groups, extra}`. */
export interface OriginatingIdentity {
  platform: string;
  value: JsonObject;
}

/** Who the auth layer let in: the basic-auth user name, or the TokenReview's user. */
export interface AuthenticatedUser {
  username: string;
  uid?: string;
  groups?: string[];
}

/** What every handler gets besides its request. */
export interface RequestContext {
  /** `X-Broker-API-Version`, e.g. `2.17`. */
  apiVersion: string;
  originatingIdentity?: OriginatingIdentity;
  /** `X-Broker-API-Request-Identity`; the server echoes it in the response. */
  requestIdentity?: string;
  user?: AuthenticatedUser;
  /** Aborts when the request times out or the server stops waiting for it. */
  signal: AbortSignal;
}

/** An instance operation's target, resolved from the catalog. */
export interface PlanRef {
  service: ServiceOffering;
  plan: ServicePlan;
}

export interface ProvisionBody {
  service_id: string;
  plan_id: string;
  context?: JsonObject;
  organization_guid?: string;
  space_guid?: string;
  parameters?: JsonObject;
  maintenance_info?: MaintenanceInfo;
}

export interface ProvisionRequest extends PlanRef {
  instanceId: string;
  acceptsIncomplete: boolean;
  /** The known fields of the body; unknown ones are dropped, as the spec asks. */
  body: ProvisionBody;
}

export interface InstanceMetadata {
  labels?: Record<string, string>;
  attributes?: JsonObject;
}

export type ProvisionResponse =
  /** 201 created; 200 it already existed, identical (synchronous only). */
  | { status: 200 | 201; dashboard_url?: string | null; metadata?: InstanceMetadata }
  /** 202 in progress; a repeated PUT answers 202 with the same `operation` until it ends. */
  | { status: 202; operation?: string; dashboard_url?: string | null; metadata?: InstanceMetadata };

export interface PreviousValues {
  service_id?: string;
  plan_id?: string;
  organization_id?: string;
  space_id?: string;
  maintenance_info?: MaintenanceInfo;
}

export interface UpdateBody {
  service_id: string;
  plan_id?: string;
  context?: JsonObject;
  parameters?: JsonObject;
  previous_values?: PreviousValues;
  maintenance_info?: MaintenanceInfo;
}

export interface UpdateRequest {
  instanceId: string;
  acceptsIncomplete: boolean;
  body: UpdateBody;
  service: ServiceOffering;
  /** The plan after the update: `plan_id`'s, else `previous_values.plan_id`'s; absent if neither was sent. */
  plan?: ServicePlan;
  /** `previous_values.plan_id`'s plan, when sent and still in the catalog. */
  previousPlan?: ServicePlan;
}

export type UpdateResponse =
  | { status: 200; dashboard_url?: string | null; metadata?: InstanceMetadata }
  | { status: 202; operation?: string; dashboard_url?: string | null; metadata?: InstanceMetadata };

/** A delete names its plan in the query; the plan may have left the catalog since, so it is optional. */
export interface DeleteTarget {
  serviceId: string;
  planId: string;
  service?: ServiceOffering;
  plan?: ServicePlan;
}

export interface DeprovisionRequest extends DeleteTarget {
  instanceId: string;
  acceptsIncomplete: boolean;
}

export type DeprovisionResponse = { status: 200 } | { status: 202; operation?: string };

export type OperationState = 'in progress' | 'succeeded' | 'failed';

export interface LastOperationRequest {
  instanceId: string;
  /** Only when the platform sent `service_id` and `plan_id` (it SHOULD) and they are in the catalog. */
  service?: ServiceOffering;
  plan?: ServicePlan;
  /** The `operation` the broker returned with its 202, echoed. */
  operation?: string;
}

export interface LastOperationResponse {
  state: OperationState;
  description?: string;
  /** Failed update or deprovision: can the instance still be used? */
  instance_usable?: boolean;
  /** Failed update: may the platform repeat it? */
  update_repeatable?: boolean;
  /** Sent as `Retry-After` (seconds): when the platform should poll again. */
  retryAfterSeconds?: number;
}

export interface GetInstanceRequest {
  instanceId: string;
  service?: ServiceOffering;
  plan?: ServicePlan;
}

export interface GetInstanceResponse {
  service_id?: string;
  plan_id?: string;
  dashboard_url?: string | null;
  parameters?: JsonObject;
  maintenance_info?: MaintenanceInfo;
  metadata?: InstanceMetadata;
}

export interface BindBody {
  service_id: string;
  plan_id: string;
  context?: JsonObject;
  app_guid?: string;
  bind_resource?: JsonObject;
  parameters?: JsonObject;
  predecessor_binding_id?: string;
}

export interface BindRequest extends PlanRef {
  instanceId: string;
  bindingId: string;
  acceptsIncomplete: boolean;
  body: BindBody;
}

export interface BindingMetadata {
  /** ISO 8601, `yyyy-mm-ddThh:mm:ss.sZ`. */
  expires_at?: string;
  renew_before?: string;
}

export interface Endpoint {
  host: string;
  ports: string[];
  protocol?: 'tcp' | 'udp' | 'all';
}

export interface Binding {
  credentials?: JsonObject;
  metadata?: BindingMetadata;
  syslog_drain_url?: string;
  route_service_url?: string;
  volume_mounts?: JsonObject[];
  endpoints?: Endpoint[];
}

export type BindResponse =
  | ({ status: 200 | 201 } & Binding)
  /** Credentials are never sent with a 202: the platform fetches them once the bind succeeded. */
  | { status: 202; operation?: string; metadata?: BindingMetadata };

export interface UnbindRequest extends DeleteTarget {
  instanceId: string;
  bindingId: string;
  acceptsIncomplete: boolean;
}

export type UnbindResponse = { status: 200 } | { status: 202; operation?: string };

export interface BindingLastOperationRequest extends LastOperationRequest {
  bindingId: string;
}

export interface GetBindingRequest extends GetInstanceRequest {
  bindingId: string;
}

export interface GetBindingResponse extends Binding {
  parameters?: JsonObject;
}

export type MaybePromise<T> = T | Promise<T>;

/** The operations that may answer asynchronously, for `Broker.requiresAsync`. */
export type MutatingOperation = 'provision' | 'update' | 'deprovision' | 'bind' | 'unbind';

/**
 * A broker. Throw `BrokerError` to answer with an error (`BrokerError.notFound()` for an unknown
 * instance or binding). Optional methods are answered for the broker when absent: GET instance and
 * GET binding with 404, and the binding `last_operation` with 404 (only async binds need it).
 */
export interface Broker {
  catalog(ctx: RequestContext): MaybePromise<Catalog>;
  provision(request: ProvisionRequest, ctx: RequestContext): Promise<ProvisionResponse>;
  update(request: UpdateRequest, ctx: RequestContext): Promise<UpdateResponse>;
  deprovision(request: DeprovisionRequest, ctx: RequestContext): Promise<DeprovisionResponse>;
  lastOperation(request: LastOperationRequest, ctx: RequestContext): Promise<LastOperationResponse>;
  bind(request: BindRequest, ctx: RequestContext): Promise<BindResponse>;
  unbind(request: UnbindRequest, ctx: RequestContext): Promise<UnbindResponse>;
  getInstance?(request: GetInstanceRequest, ctx: RequestContext): Promise<GetInstanceResponse>;
  getBinding?(request: GetBindingRequest, ctx: RequestContext): Promise<GetBindingResponse>;
  bindingLastOperation?(
    request: BindingLastOperationRequest,
    ctx: RequestContext,
  ): Promise<LastOperationResponse>;
  /**
   * True when this operation on this plan can only run asynchronously: a request without
   * `accepts_incomplete=true` is then refused with 422 `AsyncRequired` before the handler runs.
   */
  requiresAsync?(operation: MutatingOperation, target: PlanRef): boolean;
}
