// Admission handlers: what a path of the webhook server runs. `mutating` turns a function that edits
// an object into a JSON Patch answer; `validating` turns a verdict into an allow/deny answer.

import { isObject } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { Logger } from 'pino';
import { deepCopy } from '../equality.ts';
import { jsonPatchDiff } from '../json-patch.ts';
import type { JsonPatchOperation } from '../json-patch.ts';
import type { AdmissionRequest, AdmissionStatus } from './types.ts';

type MaybePromise<T> = T | Promise<T>;

/** What a handler is given besides the object: the whole request, and ways to report. */
export interface AdmissionContext<T = unknown> {
  /** The request as the API server sent it. Do not modify it: a mutating handler edits its first argument. */
  readonly request: AdmissionRequest<T>;
  /** The path the handler is registered at, e.g. `/mutate-apps-v1-deployment`. */
  readonly path: string;
  /** Bound to the request: uid, path, kind, namespace, name, operation. Never log object content. */
  readonly log: Logger;
  /** Aborts when the request times out or the API server hangs up. */
  readonly signal: AbortSignal;
  /** Adds a warning the API server passes on to the client (`kubectl` prints it). */
  warn(message: string): void;
  /** Adds an annotation to the audit event of the request (the key gets the webhook's prefix). */
  auditAnnotation(key: string, value: string): void;
}

/** What a handler answers; the server adds the uid and encodes the patch. */
export interface AdmissionResult {
  allowed: boolean;
  status?: AdmissionStatus;
  /** Mutating handlers: the operations that turn the request's object into the mutated one. */
  patch?: JsonPatchOperation[];
  warnings?: string[];
}

/** A handler registered at a path of the webhook server. */
export interface AdmissionHandler {
  readonly type: 'mutating' | 'validating';
  handle(ctx: AdmissionContext): Promise<AdmissionResult>;
}

export interface DenialOptions {
  /** Default 403. */
  code?: number;
  /** A `metav1.StatusReason`; default `Forbidden`. Use `Invalid` (with 422) for a bad field. */
  reason?: string;
  warnings?: string[];
}

/** A refusal: return it from a mutating or validating handler (build it with `deny`). */
export class Denial {
  readonly allowed = false;
  readonly message: string;
  readonly code: number;
  readonly reason: string;
  readonly warnings: string[];

  constructor(message: string, options: DenialOptions = {}) {
    this.message = message;
    this.code = options.code ?? 403;
    this.reason = options.reason ?? 'Forbidden';
    this.warnings = options.warnings ?? [];
  }
}

/**
 * Refuses the request. The API server reports `admission webhook "<name>" denied the request:
 * <message>` to the client, so say which field is wrong and what was expected.
 */
export function deny(message: string, options: DenialOptions = {}): Denial {
  return new Denial(message, options);
}

/** What a validating handler answers. */
export interface ValidationResult {
  allowed: boolean;
  /** Why it was denied (ignored when allowed). */
  message?: string;
  /** Default 403 when denied. */
  code?: number;
  /** Default `Forbidden` when denied. */
  reason?: string;
  warnings?: string[];
}

export type MutateFunc<T> = (object: T, ctx: AdmissionContext<T>) => MaybePromise<T | Denial | void>;
export type ValidateFunc<T> = (ctx: AdmissionContext<T>) => MaybePromise<ValidationResult>;

function denied(d: {
  message?: string;
  code?: number;
  reason?: string;
  warnings?: string[];
}): AdmissionResult {
  return {
    allowed: false,
    status: {
      code: d.code ?? 403,
      reason: d.reason ?? 'Forbidden',
      ...(d.message ? { message: d.message } : {}),
    },
    ...(d.warnings?.length ? { warnings: d.warnings } : {}),
  };
}

/**
 * A mutating handler (a defaulter). `fn` gets a deep copy of the request's object; it edits the copy
 * in place (and returns nothing) or returns the mutated object, or returns `deny(...)`. The server
 * answers with the JSON Patch from the original to the result, or no patch if nothing changed. A
 * thrown error is answered as a 500 denial naming the path, never with the object.
 *
 * Requests without an object (DELETE, most CONNECT) are allowed without calling `fn`.
 */
export function mutating<T extends object = KubeObject>(fn: MutateFunc<T>): AdmissionHandler {
  return {
    type: 'mutating',
    async handle(ctx) {
      const original = ctx.request.object;
      if (!isObject(original)) return { allowed: true };
      const copy = deepCopy(original) as T;
      const result = await fn(copy, ctx as AdmissionContext<T>);
      if (result instanceof Denial) return denied(result);
      const mutated: unknown = result ?? copy;
      if (!isObject(mutated)) {
        throw new Error(
          `the handler returned ${Array.isArray(mutated) ? 'an array' : typeof mutated}, expected the mutated object`,
        );
      }
      const patch = jsonPatchDiff(original, mutated);
      return patch.length ? { allowed: true, patch } : { allowed: true };
    },
  };
}

/**
 * A validating handler. `fn` gets the request (object and, on UPDATE and DELETE, oldObject) and
 * answers `{ allowed, message?, warnings? }`, or `deny(...)`.
 */
export function validating<T = KubeObject>(fn: ValidateFunc<T>): AdmissionHandler {
  return {
    type: 'validating',
    async handle(ctx) {
      const verdict = await fn(ctx as AdmissionContext<T>);
      if (!isObject(verdict) || typeof verdict.allowed !== 'boolean') {
        throw new Error('the handler returned no verdict: expected { allowed: boolean }');
      }
      if (!verdict.allowed) return denied(verdict);
      return { allowed: true, ...(verdict.warnings?.length ? { warnings: verdict.warnings } : {}) };
    },
  };
}
