// What the fake client records of each call (an `Action`), and the reactors that may answer a call
// before the fake API server does (client-go's fake `PrependReactor`, reconciler.io's `InduceFailure`).

import type { KubeObject, ObjectRef, PatchType, TypeRef } from '@bindery/kube';
import { internalError } from './errors.ts';
import { jsonCopy, namespaceOf } from './object-store.ts';

export type Verb = 'get' | 'list' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete';

/** What a call was about. `name` is absent for a list and for a create with `generateName` only. */
export interface ActionRef extends TypeRef {
  namespace?: string;
  name?: string;
  generateName?: string;
}

/** One call to the fake client, recorded before it is answered. */
export interface Action {
  verb: Verb;
  ref: ActionRef;
  /** `create`, `update`, `updateStatus`: the object as sent (a JSON copy). */
  object?: KubeObject;
  /** `patch`: the patch as sent, parsed when it was a string. */
  patch?: unknown;
  patchType?: PatchType;
  /** `get` or `patch` of a subresource (`status`). */
  subresource?: string;
  /** The call's options, without `signal`. */
  options?: Record<string, unknown>;
  /** Set when the call failed, by a reactor or by the fake API server's rules. */
  error?: Error;
}

/**
 * What a reactor decides: `undefined` passes the call on (to the next reactor,
 * then the object store); an `Error` fails the call with it (throwing does the
 * same); `{ response }` answers the call with `response` without touching the store.
 */
export type ReactorOutcome = Error | { response: unknown } | undefined;

export interface Reactor {
  /** The verb to intercept, or `*` for all. */
  verb: Verb | '*';
  /** The kind to intercept (`ConfigMap`); any kind when absent or `*`. */
  kind?: string;
  /** `call` counts the calls this reactor matched, from 1. */
  fn(action: Readonly<Action>, call: number): ReactorOutcome | void | Promise<ReactorOutcome | void>;
}

/**
 * A reactor that fails matching calls (reconciler.io's `InduceFailure`): with
 * `error` (default: a 500 InternalError `inducing failure for <verb> <Kind>`),
 * after letting `skip` calls through, for `times` calls (default: all).
 */
export function induceFailure(
  verb: Verb | '*',
  kind?: string,
  options: { error?: Error; skip?: number; times?: number } = {},
): Reactor {
  const skip = options.skip ?? 0;
  return {
    verb,
    ...(kind !== undefined ? { kind } : {}),
    fn: (action, call) => {
      if (call <= skip || (options.times !== undefined && call > skip + options.times)) return undefined;
      return options.error ?? internalError(`inducing failure for ${action.verb} ${action.ref.kind}`);
    },
  };
}

/** Whether `reactor` intercepts `action`. */
export function reactsTo(reactor: Reactor, action: Action): boolean {
  if (reactor.verb !== '*' && reactor.verb !== action.verb) return false;
  return reactor.kind === undefined || reactor.kind === '*' || reactor.kind === action.ref.kind;
}

/** The ActionRef of a call on one object. */
export function actionRef(ref: ObjectRef): ActionRef {
  return { apiVersion: ref.apiVersion, kind: ref.kind, ...namespaceOf(ref), name: ref.name };
}

export function subresourceOf(subresource: string | undefined): { subresource?: string } {
  return subresource ? { subresource } : {};
}

/** The options worth recording: no `signal`, no fields already in the action, nothing undefined. */
export function optionsOf(options: object, skip: readonly string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (k === 'signal' || skip.includes(k) || v === undefined) continue;
    out[k] = jsonCopy(v);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
