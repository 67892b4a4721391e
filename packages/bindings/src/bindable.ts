// A binding (knative's psbinding `Bindable`): an object that names a subject — PodSpec-able
// objects of one kind, by name or by label selector — and knows how to bind itself into
// their pod template (`do`) and how to take exactly that back out (`undo`).

import { isObject, parseApiVersion, selectorFromLabelSelector } from '@bindery/kube';
import type { KubeObject, LabelSelector, Selector } from '@bindery/kube';
import type { PodSpecable } from '@bindery/runtime';
import type { Logger } from 'pino';

/** What a binding applies to: objects of one kind in the binding's namespace, by name or by labels. */
export interface Subject {
  apiVersion: string;
  kind: string;
  /** Always the binding's own namespace: a binding never reaches into another namespace. */
  namespace: string;
  name?: string;
  selector?: LabelSelector;
}

/** What `do` and `undo` are given besides the object. */
export interface BindingContext {
  /** Bound to the binding and the subject. Never log a Secret's value. */
  log: Logger;
  /** Where the call comes from: the subject reconciler, or the admission controller. */
  source: 'reconciler' | 'admission';
}

/**
 * One binding, ready to apply. `do` and `undo` edit the pod template of `podspecable` in
 * place and must be idempotent: they run on every reconcile and every admission, and the
 * API server's defaults (such as a secret volume's `defaultMode`) must not look like a
 * change to undo. `undo` removes exactly what `do` added and preserves everything else.
 * Either may throw to report that it cannot bind this object (a clash with a field it
 * does not own): the reconciler reports it on the binding, the admission controller
 * denies the request with the message.
 */
export interface Bindable {
  /** The binding object itself, for events and logs. */
  readonly binding: KubeObject;
  readonly subject: Subject;
  do(ctx: BindingContext, podspecable: PodSpecable): void | Promise<void>;
  undo(ctx: BindingContext, podspecable: PodSpecable): void | Promise<void>;
}

/**
 * Makes a `Bindable` of a binding object read from the API server. Throws an
 * `InvalidBindingError` naming the field when the spec cannot be applied.
 */
export type BindableFactory<B extends KubeObject> = (binding: B) => Bindable;

/** A binding whose spec cannot be applied; `field` is its path (`spec.subject.name`). */
export class InvalidBindingError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'InvalidBindingError';
    this.field = field;
  }
}

/**
 * Validates the subject of a binding (at `field`, default `spec.subject`): `apiVersion`,
 * `kind`, and exactly one of `name` or `selector`. `namespace` may be omitted and must
 * otherwise be the binding's own.
 */
export function parseSubject(binding: KubeObject, value: unknown, field = 'spec.subject'): Subject {
  if (!isObject(value)) throw new InvalidBindingError(field, 'is required');
  const { apiVersion, kind, namespace, name, selector } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '' || parseApiVersion(apiVersion).version === '') {
    throw new InvalidBindingError(`${field}.apiVersion`, 'must be "version" or "group/version"');
  }
  if (typeof kind !== 'string' || kind === '') throw new InvalidBindingError(`${field}.kind`, 'is required');
  const own = binding.metadata.namespace ?? '';
  if (own === '') throw new InvalidBindingError('metadata.namespace', 'a binding must be namespaced');
  if (namespace !== undefined && namespace !== '' && namespace !== own) {
    throw new InvalidBindingError(
      `${field}.namespace`,
      `must be the binding's own namespace "${own}", got ${JSON.stringify(namespace)}`,
    );
  }
  const hasName = name !== undefined && name !== '';
  const hasSelector = selector !== undefined && selector !== null;
  if (hasName === hasSelector) {
    throw new InvalidBindingError(field, 'set exactly one of name and selector');
  }
  if (hasName) {
    if (typeof name !== 'string') throw new InvalidBindingError(`${field}.name`, 'must be a string');
    return { apiVersion, kind, namespace: own, name };
  }
  if (!isObject(selector)) throw new InvalidBindingError(`${field}.selector`, 'must be a label selector');
  const labelSelector = selector as LabelSelector;
  try {
    selectorFromLabelSelector(labelSelector);
  } catch (err) {
    throw new InvalidBindingError(`${field}.selector`, (err as Error).message);
  }
  return { apiVersion, kind, namespace: own, selector: labelSelector };
}

/** The selector of a subject bound by labels, parsed; `undefined` for a subject bound by name. */
export function subjectSelector(subject: Subject): Selector | undefined {
  return subject.selector === undefined ? undefined : selectorFromLabelSelector(subject.selector);
}

/** Whether `obj` (of any version of the subject's group and kind) is one the subject names. */
export function subjectMatches(
  subject: Subject,
  obj: KubeObject,
  selector = subjectSelector(subject),
): boolean {
  if (obj.kind !== subject.kind) return false;
  if (parseApiVersion(obj.apiVersion ?? '').group !== parseApiVersion(subject.apiVersion).group) return false;
  if ((obj.metadata.namespace ?? '') !== subject.namespace) return false;
  if (subject.name !== undefined) return obj.metadata.name === subject.name;
  return selector?.matches(obj.metadata.labels) ?? false;
}

/** `Deployment web` or `Deployments matching app=web`, for conditions, events and errors. */
export function describeSubject(subject: Subject): string {
  if (subject.name !== undefined) return `${subject.kind} ${subject.namespace}/${subject.name}`;
  const selector = subjectSelector(subject)?.toString() ?? '';
  return `${subject.kind} objects in ${subject.namespace} matching ${selector === '' ? 'everything' : selector}`;
}
