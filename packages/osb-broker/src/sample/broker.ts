// The sample broker: `Broker` over the Secrets of one namespace (see state.ts). Two offerings, a
// database and a queue (catalog.ts); asynchronous operations take `delayMs`.

import type { KubeClient } from '@bindery/kube';
import type {
  BindRequest,
  BindResponse,
  BindingLastOperationRequest,
  Broker,
  DeprovisionRequest,
  DeprovisionResponse,
  GetBindingRequest,
  GetBindingResponse,
  GetInstanceRequest,
  GetInstanceResponse,
  LastOperationRequest,
  LastOperationResponse,
  MutatingOperation,
  PlanRef,
  ProvisionRequest,
  ProvisionResponse,
  RequestContext,
  UnbindRequest,
  UnbindResponse,
  UpdateRequest,
  UpdateResponse,
} from '../broker.ts';
import type { Catalog } from '../catalog.ts';
import * as bindings from './bindings.ts';
import { planBehaviour, sampleCatalog } from './catalog.ts';
import * as instances from './instances.ts';
import { lastOperationOf } from './operations.ts';
import { SecretStore } from './state.ts';

export interface SampleBrokerOptions {
  /** Where the broker keeps its state and creates the instances' Secrets. */
  client: KubeClient;
  /** Default `bindery-broker`. */
  namespace?: string;
  /** How long an asynchronous operation takes. Default 1,000 ms. */
  delayMs?: number;
  /** Prefix of the instances' `dashboard_url`. */
  dashboardBaseUrl?: string;
  /** The clock; tests move it. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_SAMPLE_NAMESPACE = 'bindery-broker';

export class SampleBroker implements Broker {
  readonly namespace: string;
  readonly #ctx: instances.SampleBrokerContext;

  constructor(options: SampleBrokerOptions) {
    this.namespace = options.namespace ?? DEFAULT_SAMPLE_NAMESPACE;
    this.#ctx = {
      store: new SecretStore({ client: options.client, namespace: this.namespace }),
      delayMs: options.delayMs ?? 1000,
      now: options.now ?? Date.now,
      namespace: this.namespace,
      dashboardBaseUrl: options.dashboardBaseUrl ?? 'https://dashboard.bindery.invalid',
    };
  }

  catalog(): Catalog {
    return sampleCatalog;
  }

  requiresAsync(operation: MutatingOperation, target: PlanRef): boolean {
    const behaviour = planBehaviour[target.plan.id];
    if (!behaviour) return false;
    const mode = operation === 'bind' || operation === 'unbind' ? behaviour.bindings : behaviour.instances;
    return mode === 'required';
  }

  provision(req: ProvisionRequest, ctx: RequestContext): Promise<ProvisionResponse> {
    return instances.provision(this.#ctx, req, ctx.signal);
  }

  update(req: UpdateRequest, ctx: RequestContext): Promise<UpdateResponse> {
    return instances.update(this.#ctx, req, ctx.signal);
  }

  deprovision(req: DeprovisionRequest, ctx: RequestContext): Promise<DeprovisionResponse> {
    return instances.deprovision(this.#ctx, req, ctx.signal);
  }

  lastOperation(req: LastOperationRequest, ctx: RequestContext): Promise<LastOperationResponse> {
    return lastOperationOf(this.#ctx, { instanceId: req.instanceId }, ctx.signal);
  }

  getInstance(req: GetInstanceRequest, ctx: RequestContext): Promise<GetInstanceResponse> {
    return instances.getInstance(this.#ctx, req, ctx.signal);
  }

  bind(req: BindRequest, ctx: RequestContext): Promise<BindResponse> {
    return bindings.bind(this.#ctx, req, ctx.signal);
  }

  unbind(req: UnbindRequest, ctx: RequestContext): Promise<UnbindResponse> {
    return bindings.unbind(this.#ctx, req, ctx.signal);
  }

  getBinding(req: GetBindingRequest, ctx: RequestContext): Promise<GetBindingResponse> {
    return bindings.getBinding(this.#ctx, req, ctx.signal);
  }

  bindingLastOperation(
    req: BindingLastOperationRequest,
    ctx: RequestContext,
  ): Promise<LastOperationResponse> {
    return lastOperationOf(this.#ctx, { instanceId: req.instanceId, bindingId: req.bindingId }, ctx.signal);
  }
}
