import { isNotFound } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import type { Config, Tracker } from '../config.ts';
import { deepCopy } from '../equality.ts';
import type { ReconcileContext, Reconciler, Request, SetupContext, SubReconciler } from '../reconciler.ts';
import { ResourceManager } from '../resource-manager.ts';
import { HaltSubReconcilers } from '../result.ts';
import type { Result } from '../result.ts';
import { resourceContext } from './context.ts';

export interface AggregateReconcilerOptions<T extends KubeObject> {
  name: string;
  type: TypeRef;
  /** The one object reconciled; other requests are ignored. */
  request: Request;
  /**
   * The object as it should be, built from a copy of the current one (or of a
   * skeleton with only its name when it does not exist); undefined to delete
   * it. Default: the resource as the sub-reconciler left it.
   */
  desired?: (ctx: ReconcileContext, resource: T) => T | undefined | Promise<T | undefined>;
  mergeBeforeUpdate: (current: T, desired: T) => void;
  harmonizeImmutableFields?: (current: T, desired: T) => void;
  /** Runs before `desired`, e.g. to stash what it needs. */
  reconciler?: SubReconciler<T>;
  /** Watches of what the object aggregates; map them to `request`. */
  setup?: (ctx: SetupContext) => void | Promise<void>;
  sanitize?: (resource: T) => unknown;
}

/**
 * Reconciles one named object that aggregates others (reconciler.io's
 * AggregateReconciler): creates it when missing, updates it when it differs
 * from what is desired, deletes it when nothing is desired. Used for objects
 * like a webhook configuration programmed from every binding.
 */
export class AggregateReconciler<T extends KubeObject> implements Reconciler {
  readonly name: string;
  readonly type: TypeRef;
  readonly request: Request;
  readonly #options: AggregateReconcilerOptions<T>;
  readonly #manager: ResourceManager<T>;

  constructor(options: AggregateReconcilerOptions<T>) {
    if (!options.request.name)
      throw new Error(`AggregateReconciler ${options.name}: request.name is required`);
    this.name = options.name;
    this.type = { apiVersion: options.type.apiVersion, kind: options.type.kind };
    this.request = { ...options.request };
    this.#options = options;
    this.#manager = new ResourceManager<T>({
      name: options.name,
      type: this.type,
      mergeBeforeUpdate: options.mergeBeforeUpdate,
      ...(options.harmonizeImmutableFields
        ? { harmonizeImmutableFields: options.harmonizeImmutableFields }
        : {}),
      ...(options.sanitize ? { sanitize: options.sanitize } : {}),
    });
  }

  async setup(ctx: SetupContext): Promise<void> {
    const setupCtx = { ...ctx, log: ctx.log.child({ reconciler: this.name }), resourceType: this.type };
    await this.#options.setup?.(setupCtx);
    await this.#options.reconciler?.setup?.(setupCtx);
  }

  async reconcile(
    outer: Omit<ReconcileContext, 'resourceType'> & { resourceType?: TypeRef },
    request: Request,
  ): Promise<Result> {
    if ((request.namespace ?? '') !== (this.request.namespace ?? '') || request.name !== this.request.name) {
      return {};
    }
    const ctx = resourceContext(outer, this.name, this.type, request);
    const { config, log } = ctx;
    const ref = { ...this.type, ...this.request };

    let resource: T;
    try {
      resource = await config.client.get<T>(ref, { signal: ctx.signal });
    } catch (err) {
      if (!isNotFound(err)) {
        log.error({ err }, 'unable to fetch resource');
        throw err;
      }
      resource = {
        apiVersion: this.type.apiVersion,
        kind: this.type.kind,
        metadata: {
          name: this.request.name,
          ...(this.request.namespace ? { namespace: this.request.namespace } : {}),
        },
      } as T;
    }
    // Someone is deleting it; recreating it now would fight them.
    if (resource.metadata.deletionTimestamp !== undefined) return {};
    resource.apiVersion ??= this.type.apiVersion;
    resource.kind ??= this.type.kind;
    // What the server has, before the sub-reconciler edits `resource` (which the default desired is).
    const actual = deepCopy(resource);

    let result: Result;
    try {
      result = (await this.#options.reconciler?.reconcile(ctx, resource)) ?? {};
    } catch (err) {
      if (!(err instanceof HaltSubReconcilers)) throw err;
      result = err.result;
    }

    const desired = this.#options.desired
      ? await this.#options.desired(ctx, deepCopy(resource))
      : deepCopy(resource);
    // The object is the resource itself: tracking it by itself would only enqueue it twice.
    const untracked: Config = { ...config, tracker: noTracking };
    await this.#manager.manage({ ...ctx, config: untracked }, resource, actual, desired);
    return result;
  }
}

const noTracking: Tracker = {
  trackReference: () => undefined,
  trackObject: () => undefined,
  getObservers: () => [],
};
