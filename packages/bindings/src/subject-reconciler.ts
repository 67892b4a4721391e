// The subject reconciler (knative's psbinding BaseReconciler): keeps every subject of a
// binding bound — `do` on its pod template, patched only when that changes something —
// and, when the binding is deleted, takes the binding back out (`undo`) before its
// finalizer goes. The admission controller binds objects as they are created; this
// reconciler binds the ones that existed before the binding, and repairs drift.

import { NoKindMatchError, errorMessage, groupKind, isForbidden, isNotFound, refOf } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import {
  CacheSyncTimeoutError,
  ConditionSet,
  DuckClient,
  ResourceReconciler,
  Sequence,
  SyncReconciler,
  WithFinalizer,
  deepCopy,
  deepEqual,
  enqueueTracked,
  podSpecable,
  podTemplatePath,
} from '@bindery/runtime';
import type {
  ConditionManager,
  Reader,
  ReconcileContext,
  Result,
  SetupContext,
  SubReconciler,
} from '@bindery/runtime';
import { InvalidBindingError, describeSubject, subjectSelector } from './bindable.ts';
import type { Bindable, BindableFactory, Subject } from './bindable.ts';
import { writeSubjects } from './subject-writes.ts';
import type { SubjectChange } from './subject-writes.ts';

/** The workload kinds watched unless `subjectTypes` says otherwise. */
export const defaultSubjectTypes: readonly TypeRef[] = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
];

/** `status.conditions` of a binding: `Ready` says whether every subject is bound, and if not, which one is not. */
export const bindingConditions = new ConditionSet({ happy: 'Ready' });

/** Reasons of the `Ready` condition and of events. */
export const BindingReasons = {
  bound: 'SubjectsBound',
  invalidSpec: 'InvalidSpec',
  subjectMissing: 'SubjectMissing',
  subjectUnavailable: 'SubjectUnavailable',
  notPodSpecable: 'SubjectNotPodSpecable',
  bindingFailed: 'BindingFailed',
  patchFailed: 'SubjectPatchFailed',
} as const;

export interface SubjectReconcilerOptions<B extends KubeObject> {
  /** Names the reconciler in logs. */
  name: string;
  /** The binding type. Its CRD needs the status subresource with `conditions`. */
  type: TypeRef;
  bindable: BindableFactory<B>;
  /** Held on every live binding until its subjects are unbound: `<plural>.<group>/finalizer` by convention. */
  finalizer: string;
  /**
   * Subject kinds to watch: a change to one (a new Deployment that matches a selector)
   * enqueues the bindings that name it. They are read from the informer cache; kinds not
   * listed are read from the API server on each reconcile and bound only when the binding
   * is reconciled (and by the admission controller as they are created). Default:
   * `defaultSubjectTypes`.
   */
  subjectTypes?: readonly TypeRef[];
  /** Runs before the subjects are patched, e.g. to create what the binding projects. */
  subResourcesReconciler?: SubReconciler<B>;
  /** The field manager of subject patches. */
  fieldManager?: string;
}

/**
 * A ResourceReconciler of the binding type: holds a finalizer, runs the optional
 * sub-resources reconciler, then binds every subject (`bindSubjects`). Register it with
 * a Controller `for` the binding type.
 */
export class SubjectReconciler<B extends KubeObject> extends ResourceReconciler<B> {
  constructor(options: SubjectReconcilerOptions<B>) {
    const steps: Array<SubReconciler<B>> = [];
    if (options.subResourcesReconciler) steps.push(options.subResourcesReconciler);
    steps.push(bindSubjects(options));
    super({
      name: options.name,
      type: options.type,
      conditions: bindingConditions,
      reconciler: new WithFinalizer<B>({
        finalizer: options.finalizer,
        reconciler: new Sequence<B>({ name: 'BindingSequence', reconcilers: steps }),
      }),
    });
  }
}

/** One subject's problem, for the condition and an event. */
interface Failure {
  reason: string;
  message: string;
  /** Worth retrying with backoff (a failed write), rather than waiting for a change. */
  retry: boolean;
}

/**
 * The sub-reconciler that binds (or, while the binding is being deleted, unbinds) the
 * subjects, watching `subjectTypes` through the tracker.
 */
export function bindSubjects<B extends KubeObject>(
  options: Pick<SubjectReconcilerOptions<B>, 'bindable' | 'subjectTypes' | 'fieldManager'>,
): SyncReconciler<B> {
  const subjectTypes = options.subjectTypes ?? defaultSubjectTypes;
  const watched = new Set(subjectTypes.map(groupKind));
  return new SyncReconciler<B>({
    name: 'BindSubjects',
    setup: (ctx: SetupContext) => {
      for (const type of subjectTypes) ctx.builder.watches(type, enqueueTracked(ctx));
    },
    sync: (ctx, binding) => reconcileSubjects(ctx, binding, options, watched, 'do'),
    finalize: (ctx, binding) => reconcileSubjects(ctx, binding, options, watched, 'undo'),
  });
}

async function reconcileSubjects<B extends KubeObject>(
  ctx: ReconcileContext,
  binding: B,
  options: Pick<SubjectReconcilerOptions<B>, 'bindable' | 'fieldManager'>,
  watched: ReadonlySet<string>,
  op: 'do' | 'undo',
): Promise<Result> {
  const { config } = ctx;
  // Status is touched only to mark a condition: unbinding never writes it.
  const conditions = (): ConditionManager => bindingConditions.manage(statusOf(binding), config.clock);
  const recorder = ctx.originalConfig.recorder;

  let bindable: Bindable;
  try {
    bindable = options.bindable(binding);
  } catch (err) {
    if (!(err instanceof InvalidBindingError)) throw err;
    // Nothing was bound with a spec that cannot be read; the user's next edit requeues it.
    if (op === 'do') {
      conditions().markFalse('Ready', BindingReasons.invalidSpec, err.message);
      recorder.event(binding, { type: 'Warning', reason: BindingReasons.invalidSpec, note: err.message });
    }
    return {};
  }
  const subject = bindable.subject;
  const described = describeSubject(subject);
  config.tracker.trackReference(
    {
      apiVersion: subject.apiVersion,
      kind: subject.kind,
      namespace: subject.namespace,
      ...(subject.name !== undefined
        ? { name: subject.name }
        : { selector: subjectSelector(subject)?.toString() ?? '' }),
    },
    refOf(binding, ctx.resourceType),
  );

  const duckClient = (reader: Reader): DuckClient =>
    new DuckClient({
      client: config.client,
      reader,
      ...(options.fieldManager !== undefined ? { fieldManager: options.fieldManager } : {}),
    });
  const apiDucks = (): DuckClient => duckClient(config.apiReader);
  // Kinds nobody watches have no informer: a cache read would wait for one to sync.
  const ducks = watched.has(groupKind(subject)) ? duckClient(config.client) : apiDucks();

  let subjects: KubeObject[];
  try {
    subjects = await readSubjects(ducks, subject, ctx.signal);
  } catch (cachedErr) {
    // A kind the controller may not list never syncs in the cache, so the cached read fails at its
    // deadline without saying why. Unbinding must not wait on it forever: ask the API server.
    const err =
      op === 'undo' && cachedErr instanceof CacheSyncTimeoutError
        ? await readSubjects(apiDucks(), subject, ctx.signal).then(
            () => cachedErr,
            (e: unknown) => e,
          )
        : cachedErr;
    const gone = isNotFound(err) || err instanceof NoKindMatchError;
    // Unbinding: a subject (or kind) that is gone or out of reach holds nothing to undo.
    if (op === 'undo' && (gone || isForbidden(err))) return {};
    if (isNotFound(err)) {
      conditions().markFalse('Ready', BindingReasons.subjectMissing, `${described} not found`);
      return {}; // the tracker enqueues the binding when the subject appears
    }
    const message = `cannot read ${described}: ${errorMessage(err)}`;
    conditions().markFalse('Ready', BindingReasons.subjectUnavailable, message);
    recorder.event(binding, { type: 'Warning', reason: BindingReasons.subjectUnavailable, note: message });
    throw err;
  }

  const failures: Failure[] = [];
  const nameOf = (obj: KubeObject): string =>
    `${obj.kind ?? subject.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
  const apply = async (obj: KubeObject): Promise<boolean> => {
    const view = podSpecable(obj);
    if (!view) return false;
    await bindable[op]({ log: ctx.log.child({ subject: nameOf(obj) }), source: 'reconciler' }, view);
    return true;
  };
  const changes: SubjectChange[] = [];
  for (const original of subjects) {
    const desired = deepCopy(original);
    try {
      if (!(await apply(desired))) {
        // Never bound, so nothing to undo; binding it needs a change to the object or the binding.
        if (op === 'do') {
          failures.push({
            reason: BindingReasons.notPodSpecable,
            message: `${nameOf(original)} has no pod template at ${podTemplatePath(original).join('.')}`,
            retry: false,
          });
        }
        continue;
      }
    } catch (err) {
      failures.push({
        reason: BindingReasons.bindingFailed,
        message: `cannot ${op === 'do' ? 'bind' : 'unbind'} ${nameOf(original)}: ${errorMessage(err)}`,
        retry: false,
      });
      continue;
    }
    changes.push({ original, desired });
  }

  const writes = await writeSubjects(changes, {
    ducks,
    signal: ctx.signal,
    // The API server answers with the object as stored, after mutating admission: if applying
    // again still changes it, someone (a webhook that has not seen this binding's deletion yet)
    // reverted our edit.
    reverted: async (stored) => {
      const check = deepCopy(stored);
      return (await apply(check)) && !deepEqual(stored, check);
    },
  });
  let conflicts = 0;
  for (const write of writes) {
    const name = nameOf(write.original);
    if (write.outcome === 'conflict') conflicts++;
    if (write.outcome === 'failed') {
      const err = write.error;
      if (op === 'undo' && (isNotFound(err) || isForbidden(err))) continue;
      failures.push({
        reason: BindingReasons.patchFailed,
        message: `cannot patch ${name}: ${errorMessage(err)}`,
        retry: true,
      });
      continue;
    }
    if (write.outcome === 'unchanged' || (write.outcome === 'conflict' && write.stored === undefined))
      continue;
    recorder.event(binding, {
      type: 'Normal',
      reason: op === 'do' ? 'Bound' : 'Unbound',
      note: `${op === 'do' ? 'Bound' : 'Unbound'} ${name}`,
    });
  }

  if (op === 'undo') {
    // The finalizer must stay until every subject is unbound: fail, so it is retried.
    if (failures.length > 0 || conflicts > 0) {
      for (const f of failures) {
        recorder.event(binding, { type: 'Warning', reason: f.reason, note: f.message });
      }
      const first = failures[0]?.message ?? `${conflicts} subject(s) changed while being unbound`;
      throw new Error(`unbinding ${described}: ${first}`);
    }
    return {};
  }
  const first = failures[0];
  if (first) {
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    conditions().markFalse('Ready', first.reason, `${first.message}${more}`);
    for (const f of failures) recorder.event(binding, { type: 'Warning', reason: f.reason, note: f.message });
    const retry = failures.find((f) => f.retry);
    if (retry) throw new Error(retry.message);
    return conflicts > 0 ? { requeue: true } : {};
  }
  if (conflicts > 0) return { requeue: true };
  conditions().markTrue(
    'Ready',
    BindingReasons.bound,
    subject.name !== undefined ? `Bound ${described}` : `Bound ${subjects.length} ${described}`,
  );
  return {};
}

async function readSubjects(ducks: DuckClient, subject: Subject, signal: AbortSignal): Promise<KubeObject[]> {
  const type = { apiVersion: subject.apiVersion, kind: subject.kind };
  if (subject.name !== undefined) {
    return [await ducks.get({ ...type, namespace: subject.namespace, name: subject.name }, { signal })];
  }
  const list = await ducks.list(type, {
    namespace: subject.namespace,
    labelSelector: subjectSelector(subject)?.toString() ?? '',
    signal,
  });
  // A list's items carry no apiVersion and kind; patches need them.
  return list.items
    .map((item) => ({
      ...item,
      apiVersion: item.apiVersion ?? subject.apiVersion,
      kind: item.kind ?? subject.kind,
    }))
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

function statusOf(binding: KubeObject): Record<string, unknown> {
  const status = binding['status'];
  if (typeof status === 'object' && status !== null && !Array.isArray(status)) {
    return status as Record<string, unknown>;
  }
  const created: Record<string, unknown> = {};
  binding['status'] = created;
  return created;
}
