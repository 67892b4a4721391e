// Building events.k8s.io/v1 Events: the object reference, the name, the limits the API server
// enforces (reason, action, note, reporting controller and instance), checked before anything is sent.
//
// NEVER put a secret in an event. The recorder cannot tell what a note contains;
// events are readable by anyone who may `kubectl describe` the object (and are
// often shipped to log stores). Name a Secret, never quote its data; do not paste
// request bodies, tokens, or connection strings into `note`.

import { formatMicroTime } from './micro-time.ts';
import type { KubeObject } from './object.ts';

export type EventType = 'Normal' | 'Warning';

/** A core/v1 ObjectReference: what an event is about. */
export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** What a caller says about an object. */
export interface EventOptions {
  type: EventType;
  /** Why: UpperCamelCase, machine-readable, at most 128 characters (`ProjectionFailed`). */
  reason: string;
  /** What was done or failed, at most 128 characters (`Binding`). Default: the reason. */
  action?: string;
  /** For humans; cut to 1 KiB. Never a secret's value (see the top of this file). */
  note: string;
  /** A second object the event is about (the Secret a binding projects, say). */
  related?: KubeObject | ObjectReference;
}

export interface EventSeries {
  count: number;
  lastObservedTime: string;
}

/** An events.k8s.io/v1 Event. */
export interface Event extends KubeObject {
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  type: EventType;
  note: string;
  regarding: ObjectReference;
  related?: ObjectReference;
  series?: EventSeries;
}

/** Who records: `reportingController` names the controller (`bindery.dev/servicebinding`), `reportingInstance` the replica. */
export interface EventSource {
  reportingController: string;
  reportingInstance: string;
}

/** Bytes; the API server rejects longer notes. */
export const maxNoteBytes = 1024;
const maxReasonLength = 128;
const maxActionLength = 128;
const maxReportingInstanceLength = 128;

/** Cuts `note` to at most `maxBytes` bytes of UTF-8, never inside a character. */
export function truncateNote(note: string, maxBytes = maxNoteBytes): string {
  const bytes = Buffer.from(note, 'utf8');
  if (bytes.length <= maxBytes) return note;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the character cut in two.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** The ObjectReference of an object, as client-go's `reference.GetReference` makes it. */
export function referenceTo(obj: KubeObject): ObjectReference {
  const ref: ObjectReference = {};
  if (obj.apiVersion) ref.apiVersion = obj.apiVersion;
  if (obj.kind) ref.kind = obj.kind;
  if (obj.metadata.name) ref.name = obj.metadata.name;
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.uid) ref.uid = obj.metadata.uid;
  if (obj.metadata.resourceVersion) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}

const qualifiedNamePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why the API server would reject a reporting controller or instance, or undefined if it would not. */
export function validateEventSource(source: EventSource): string | undefined {
  const controller = source.reportingController;
  const slash = controller.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : controller.slice(0, slash);
  const name = slash < 0 ? controller : controller.slice(slash + 1);
  if (
    !qualifiedNamePart.test(name) ||
    (prefix !== undefined && (prefix.length > 253 || !dnsSubdomain.test(prefix)))
  ) {
    return `reportingController ${JSON.stringify(controller)} must be a qualified name such as "example.com/my-controller"`;
  }
  if (source.reportingInstance === '' || source.reportingInstance.length > maxReportingInstanceLength) {
    return `reportingInstance must be 1 to ${maxReportingInstanceLength} characters, got ${source.reportingInstance.length}`;
  }
  return undefined;
}

/**
 * The Event's name: the regarding object's name made a valid DNS subdomain, a dot,
 * and a hex timestamp in nanoseconds (client-go's `<name>.<hex UnixNano>`), whose
 * last digits are random so two events in one millisecond do not collide.
 */
export function eventName(regardingName: string, nowMs: number, random: () => number = Math.random): string {
  const nanos = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(Math.floor(random() * 1_000_000));
  const suffix = nanos.toString(16);
  let base = regardingName
    .toLowerCase()
    .split('.')
    .map((segment) => segment.replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, ''))
    .filter((segment) => segment !== '')
    .join('.');
  base = base.slice(0, 253 - 1 - suffix.length).replace(/[-.]+$/, '');
  return `${base === '' ? 'event' : base}.${suffix}`;
}

/**
 * The Event for one call of `recorder.event()`, or why it cannot be written. It is
 * written to the regarding object's namespace; for cluster-scoped objects to
 * `default`, as client-go does.
 */
export function buildEvent(
  regarding: KubeObject,
  options: EventOptions,
  source: EventSource,
  nowMs: number,
  random: () => number = Math.random,
): Event | Error {
  const ref = referenceTo(regarding);
  const action = options.action ?? options.reason;
  const what = `event ${JSON.stringify(options.reason)} about ${ref.kind ?? 'object'} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name ?? ''}`;
  if (!ref.kind || !ref.name) return new Error(`${what}: the regarding object has no kind or name`);
  if (options.type !== 'Normal' && options.type !== 'Warning') {
    return new Error(`${what}: type must be Normal or Warning, got ${JSON.stringify(options.type)}`);
  }
  if (options.reason === '' || options.reason.length > maxReasonLength) {
    return new Error(`${what}: reason must be 1 to ${maxReasonLength} characters`);
  }
  if (action === '' || action.length > maxActionLength) {
    return new Error(`${what}: action must be 1 to ${maxActionLength} characters`);
  }
  const event: Event = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: eventName(ref.name, nowMs, random), namespace: ref.namespace ?? 'default' },
    eventTime: formatMicroTime(nowMs),
    reportingController: source.reportingController,
    reportingInstance: source.reportingInstance,
    action,
    reason: options.reason,
    type: options.type,
    note: truncateNote(options.note),
    regarding: ref,
  };
  if (options.related) {
    event.related = 'metadata' in options.related ? referenceTo(options.related) : { ...options.related };
  }
  return event;
}
