import { Buffer } from 'node:buffer';
import { StatusError, errorMessage, isObject } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { deepCopy, deepEqual } from '../equality.ts';
import { jsonPatchDiff } from '../json-patch.ts';
import type { JsonPatchOperation } from '../json-patch.ts';
import type { ReconcileContext, SubReconciler } from '../reconciler.ts';
import { HaltSubReconcilers } from '../result.ts';
import { Stash, StashKey } from '../stash.ts';
import type { AdmissionHandler } from '../webhook/handlers.ts';
import type { AdmissionRequest, AdmissionResponse } from '../webhook/types.ts';

/** What `handle` is given besides the request. */
export interface AdmissionAdapterContext {
  /** Overrides the adapter's `config`. */
  config?: Config;
  log?: Logger;
  signal?: AbortSignal;
}

/** The request being admitted; sub-reconcilers read it from the stash. */
export const admissionRequestKey = new StashKey<AdmissionRequest>('bindery:admission-request');
/**
 * The response being built; a sub-reconciler may deny (`allowed = false` with a
 * `status`), warn, or set its own patch, which then replaces the computed one.
 */
export const admissionResponseKey = new StashKey<AdmissionResponse>('bindery:admission-response');

export interface AdmissionWebhookAdapterOptions<T extends KubeObject> {
  name: string;
  /** The type the webhook admits (what `ctx.resourceType` says). */
  type: TypeRef;
  reconciler: SubReconciler<T>;
  config?: Config;
  /** Runs before the reconciler, e.g. to stash what it needs from the request. */
  beforeReconcile?: (ctx: ReconcileContext, resource: T, request: AdmissionRequest) => void | Promise<void>;
}

/**
 * Runs a sub-reconciler on the object of an admission request (reconciler.io's
 * AdmissionWebhookAdapter): what it changes becomes the response's JSON Patch;
 * what it throws denies the request. Requests are allowed by default. A webhook
 * answers from memory (informer caches), never by writing to the API server.
 */
export class AdmissionWebhookAdapter<T extends KubeObject> {
  readonly name: string;
  readonly #options: AdmissionWebhookAdapterOptions<T>;

  constructor(options: AdmissionWebhookAdapterOptions<T>) {
    this.name = options.name;
    this.#options = options;
  }

  /** An AdmissionResponse for `request`, the patch base64-encoded. Bound: pass it on as it is. */
  readonly handle = async (
    request: AdmissionRequest,
    ctx: AdmissionAdapterContext = {},
  ): Promise<AdmissionResponse> => {
    const { response, patch } = await this.#review(request, ctx);
    if (patch) {
      response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
      response.patchType = 'JSONPatch';
    }
    return response;
  };

  /** A mutating handler for the webhook server (`server.register(path, adapter.handler())`). */
  handler(config?: Config): AdmissionHandler {
    return {
      type: 'mutating',
      handle: async (actx) => {
        const { response, patch } = await this.#review(actx.request, {
          log: actx.log,
          signal: actx.signal,
          ...(config ? { config } : {}),
        });
        return {
          allowed: response.allowed,
          ...(response.status ? { status: response.status } : {}),
          ...(patch ? { patch } : {}),
          ...(response.warnings?.length ? { warnings: response.warnings } : {}),
        };
      },
    };
  }

  async #review(
    request: AdmissionRequest,
    ctx: AdmissionAdapterContext,
  ): Promise<{ response: AdmissionResponse; patch?: JsonPatchOperation[] }> {
    const o = this.#options;
    const response: AdmissionResponse = { uid: request.uid, allowed: true };
    const config = ctx.config ?? o.config;
    const baseLog = ctx.log ?? config?.log;
    if (!config || !baseLog)
      return { response: deny(response, 500, `${this.name}: no config to reconcile with`) };
    const log = baseLog.child({ webhook: this.name, uid: request.uid, operation: request.operation });

    // A delete carries the object in oldObject.
    const field = request.operation === 'DELETE' ? 'oldObject' : 'object';
    const raw = request[field];
    if (!isObject(raw) || !isObject(raw['metadata'])) {
      return {
        response: deny(response, 400, `${this.name}: the admission request has no ${field} with metadata`),
      };
    }
    const original = deepCopy(raw) as KubeObject;
    const resource = deepCopy(raw) as T;

    const stash = new Stash();
    stash.set(admissionRequestKey, request);
    stash.set(admissionResponseKey, response);
    const namespace = request.namespace ?? original.metadata.namespace;
    const rctx: ReconcileContext = {
      config,
      originalConfig: config,
      stash,
      signal: ctx.signal ?? new AbortController().signal,
      log,
      request: { name: request.name ?? original.metadata.name ?? '', ...(namespace ? { namespace } : {}) },
      resourceType: o.type,
    };

    try {
      await o.beforeReconcile?.(rctx, resource, request);
      await o.reconciler.reconcile(rctx, resource);
    } catch (err) {
      if (!(err instanceof HaltSubReconcilers)) {
        // The message only: never the object, which may carry secrets.
        log.info({ err }, 'admission denied by error');
        response.allowed = false;
        response.status ??= {
          code: err instanceof StatusError ? err.code : 500,
          message: `${this.name}: ${errorMessage(err)}`,
        };
        return { response };
      }
    }

    // A sub-reconciler that set its own patch decides it.
    const hasOwnPatch = response.patch !== undefined || response.patchType !== undefined;
    if (hasOwnPatch || request.operation === 'DELETE' || deepEqual(original, resource)) return { response };
    const patch = jsonPatchDiff(original, resource);
    log.info({ patch: patch.map((op) => `${op.op} ${op.path}`) }, 'mutating resource');
    return { response, patch };
  }
}

function deny(response: AdmissionResponse, code: number, message: string): AdmissionResponse {
  response.allowed = false;
  response.status = { code, message };
  return response;
}
