// The ServiceBinding controller (spec §"Reconciler Implementation"; the RI's
// servicebinding_controller.go): holds a finalizer, resolves the binding Secret, persists its name
// in `status.binding.name` before touching any workload, then projects the binding into every
// targeted workload and unprojects it from workloads that are no longer targeted (or from all of
// them once the binding is deleted). Conditions carry the RI's reason strings with the statuses
// the spec requires (§6.2).

import { defaultSubjectTypes, writeSubjects } from '@bindery/bindings';
import type { SubjectChange } from '@bindery/bindings';
import {
  NoKindMatchError,
  isTombstone,
  errorMessage,
  isAlreadyExists,
  isForbidden,
  isInvalid,
  isNotFound,
  parseApiVersion,
  chainTransforms,
  stripLastAppliedAnnotation,
  stripManagedFields,
  stripStatus,
} from '@bindery/kube';
import type { KubeObject, ObjectRef, TransformFunc, TypeRef } from '@bindery/kube';
import {
  ConditionSet,
  Controller,
  DuckClient,
  HaltSubReconcilers,
  OnDemandInformers,
  ResourceReconciler,
  Sequence,
  StashKey,
  SyncReconciler,
  WithFinalizer,
  aggregateResults,
  deepCopy,
  enqueueTracked,
} from '@bindery/runtime';
import type {
  ConditionManager,
  Manager,
  MapFunc,
  ReconcileContext,
  Result,
  Runnable,
  SetupContext,
} from '@bindery/runtime';
import type { Logger } from 'pino';
import {
  defaultMappings,
  formatFieldError,
  FixedJsonPathError,
  parseFixedJsonPath,
  validateServiceBinding,
} from '../apis/index.ts';
import type { ClusterWorkloadResourceMapping, ServiceBinding } from '../apis/index.ts';
import {
  ProjectionError,
  isProjected,
  mappingAnnotation,
  parseMappingStash,
  project,
  selectMappingTemplate,
  unproject,
} from '../projector/index.ts';
import type { MappingSpec } from '../projector/index.ts';
import {
  Resolver,
  clusterWorkloadResourceMappingType,
  isDirectSecretReference,
  provisionedServiceDuck,
  secretIdentity,
  secretType,
  serviceRef,
  workloadSelector,
  workloadType,
} from '../resolver/index.ts';
import type { ResourceFor, SecretAccess } from '../resolver/index.ts';
import { checkDeniedEnv, envNameDenied } from './env-policy.ts';
import { AccessCheckedKindWatcher, describeDenied } from './kind-watcher.ts';
import type { KindWatcher, WatchDenied } from './kind-watcher.ts';
import { unsupportedWorkloadKind } from './workload-kinds.ts';

export const serviceBindingType: TypeRef = { apiVersion: 'servicebinding.io/v1', kind: 'ServiceBinding' };

/** The RI's finalizer: held until the binding is unprojected from every workload. */
export const serviceBindingFinalizer = 'servicebinding.io/finalizer';

/** Opt-in: `"true"` on a binding rolls its workloads when the bound Secret changes (docs/rollout.md). */
export const rolloutAnnotation = 'bindery.dev/rollout-on-secret-change';

/** Pod-template annotation holding the bound Secret's resourceVersion: `<prefix><binding uid>`. */
export const secretVersionAnnotationPrefix = 'bindery.dev/secret-version-';
export const secretVersionAnnotation = (uid: string): string => `${secretVersionAnnotationPrefix}${uid}`;

export const ServiceBindingConditions = {
  ready: 'Ready',
  serviceAvailable: 'ServiceAvailable',
  workloadProjected: 'WorkloadProjected',
} as const;

/**
 * Reasons: the RI's strings, plus `InvalidSpec`, `WorkloadUpdateFailed`, `WorkloadKindNotFound`,
 * `WorkloadKindNotSupported` and projection error codes.
 */
export const ServiceBindingReasons = {
  serviceBound: 'ServiceBound',
  resolvedBindingSecret: 'ResolvedBindingSecret',
  serviceNotFound: 'ServiceNotFound',
  serviceForbidden: 'ServiceForbidden',
  serviceMissingBinding: 'ServiceMissingBinding',
  workloadNotFound: 'WorkloadNotFound',
  workloadForbidden: 'WorkloadForbidden',
  workloadKindNotFound: 'WorkloadKindNotFound',
  workloadKindNotSupported: 'WorkloadKindNotSupported',
  workloadProjected: 'WorkloadProjected',
  workloadUpdateFailed: 'WorkloadUpdateFailed',
  invalidSpec: 'InvalidSpec',
} as const;

/**
 * SB-18/SB-19: `Ready` derived from `ServiceAvailable` and `WorkloadProjected`, which start as
 * Unknown/`Initializing`.
 */
export const serviceBindingConditions = new ConditionSet({
  happy: ServiceBindingConditions.ready,
  happyReason: ServiceBindingReasons.serviceBound,
  dependents: [ServiceBindingConditions.serviceAvailable, ServiceBindingConditions.workloadProjected],
  // Not reset on every reconcile (the RI does): a conflict on a workload update must not be
  // reflected (RI-11), so a condition nobody marks keeps its last value.
  resetOnInitialize: false,
});

/**
 * Workload kinds watched from the start: a change to one enqueues the bindings that track it. The
 * built-in PodSpec-able kinds, as for any binding of the bindings package.
 */
export const defaultWorkloadTypes: readonly TypeRef[] = defaultSubjectTypes;

export interface ServiceBindingReconcilerOptions {
  /** Kind → resource: `KubeClient.discovery.resourceFor` in a cluster. */
  resourceFor: ResourceFor;
  /** Workload kinds to watch from the start. Default `defaultWorkloadTypes`. */
  workloadTypes?: readonly TypeRef[];
  /**
   * Provisioned Service kinds watched from the start (the controller then needs `watch` on them).
   * Default: ServiceBinding only (a binding is a Provisioned Service itself).
   */
  serviceTypes?: readonly TypeRef[];
  /**
   * Watches the other workload and Provisioned Service kinds bindings name, while they name them
   * and the controller may list and watch them (`addServiceBindingController` gives one). Without
   * it, such workloads are read through `config.client` as they are, and services are polled.
   */
  kindWatcher?: KindWatcher;
  /**
   * How often a binding is resolved again when no watch would tell: its Provisioned Service kind
   * may not be watched, or its service or workload kind is not served or not allowed. Default 60 s.
   */
  servicePollIntervalMs?: number;
  /**
   * `metadata` (default): Secrets are watched as metadata, for the existence check of a direct
   * Secret and the rollout opt-in. `none`: no Secret is read or watched (see `SecretAccess`).
   */
  secretAccess?: SecretAccess;
  /**
   * Variable names no binding may set in a workload (`spec.env[].name`); a binding that asks for
   * one is not projected (unprojected if it was) and reports `EnvNameDenied`. Default none.
   */
  deniedEnvNames?: readonly string[];
}

/** The resolved binding Secret; absent from the stash when the service exposes none. */
const secretNameKey = new StashKey<string | undefined>('servicebinding.io/secret-name');
/** When to resolve the service again (a Provisioned Service nobody watches), unless sooner. */
const pollKey = new StashKey<Result>('servicebinding.io/poll');

/** The on-demand watch slots a binding holds. */
const serviceSlot = 'service';
const workloadSlot = 'workload';

/** The ServiceBinding reconciler. Register it with a Controller `for` `serviceBindingType`. */
export function serviceBindingReconciler(
  options: ServiceBindingReconcilerOptions,
): ResourceReconciler<ServiceBinding> {
  const workloadTypes = options.workloadTypes ?? defaultWorkloadTypes;
  const serviceTypes = options.serviceTypes ?? [serviceBindingType];
  const watchedWorkloads = new Set(workloadTypes.map(groupKind));
  const watchedServices = new Set(serviceTypes.map(groupKind));
  const pollMs = options.servicePollIntervalMs ?? 60_000;
  const secretAccess = options.secretAccess ?? 'metadata';

  return new ResourceReconciler<ServiceBinding>({
    name: 'ServiceBinding',
    type: serviceBindingType,
    conditions: serviceBindingConditions,
    setup: (ctx: SetupContext) => {
      const tracked = enqueueTracked(ctx);
      for (const type of workloadTypes) ctx.builder.watches(type, tracked);
      for (const type of serviceTypes) ctx.builder.watches(type, tracked);
      // RB-4: a mapping created, changed or deleted enqueues every binding that looked it up.
      ctx.builder.watches(clusterWorkloadResourceMappingType, tracked);
      // Direct Secrets (and, for rollout, bound Secrets): metadata only, never the data.
      if (secretAccess === 'metadata') {
        ctx.builder.watches(secretType, asSecret(tracked), { metadataOnly: true });
      }
    },
    reconciler: new WithFinalizer<ServiceBinding>({
      finalizer: serviceBindingFinalizer,
      reconciler: new Sequence<ServiceBinding>({
        name: 'ServiceBindingSequence',
        reconcilers: [
          validateBinding(),
          resolveBindingSecret(options, watchedServices, pollMs, secretAccess),
          projectBinding(options, watchedWorkloads),
        ],
      }),
    }),
  });
}

export interface AddServiceBindingControllerOptions extends Omit<
  ServiceBindingReconcilerOptions,
  'resourceFor' | 'kindWatcher'
> {
  workers?: number;
  /**
   * Create the default ClusterWorkloadResourceMappings (`defaultMappings`: `cronjobs.batch`) when
   * absent, once this replica leads (`defaultMappingsRunnable`). Default true.
   */
  ensureDefaultMappings?: boolean;
}

/**
 * Adds the ServiceBinding controller to `manager`: discovery from the manager's client, and
 * watches started on demand for the workload kinds beyond `workloadTypes` (custom workloads) and
 * the Provisioned Service kinds beyond `serviceTypes` that bindings name, stopped when no binding
 * names them any more.
 */
export function addServiceBindingController(
  manager: Manager,
  options: AddServiceBindingControllerOptions = {},
): Controller {
  let controller: Controller | undefined = undefined;
  // Before anything asks for the Secret cache: it must never hold more than a Secret's identity.
  manager.informers.setTransform(secretType, secretIdentity);
  trimWorkloadCaches(manager, options);
  const resourceFor: ResourceFor = (type) => manager.client.discovery.resourceFor(type);
  const map = enqueueTracked({ config: manager.config, resourceType: serviceBindingType });
  const informers = new OnDemandInformers({
    informers: manager.informers,
    handler: (key) => {
      // Metadata-only events name PartialObjectMetadata; the tracker knows the objects by their kind.
      const enqueue = (obj: KubeObject): void => {
        const typed = key.metadataOnly
          ? { ...obj, apiVersion: key.type.apiVersion, kind: key.type.kind }
          : obj;
        for (const r of map(typed)) controller?.enqueue(r);
      };
      return {
        onAdd: enqueue,
        onUpdate: (oldObj, newObj) => {
          enqueue(newObj);
          if (oldObj !== newObj) enqueue(oldObj);
        },
        onDelete: (obj) => enqueue(isTombstone(obj) ? obj.obj : obj),
      };
    },
  });
  const kindWatcher = new AccessCheckedKindWatcher({ client: manager.client, resourceFor, informers });
  // A binding that is gone lets go of the kinds it named (its last reconcile ran its finalizer).
  manager.informer(serviceBindingType).addEventHandler({
    onDelete: (obj) => {
      const b = isTombstone(obj) ? obj.obj : obj;
      kindWatcher.release({ namespace: b.metadata.namespace ?? '', name: b.metadata.name ?? '' });
    },
  });
  const reconciler = serviceBindingReconciler({ ...options, resourceFor, kindWatcher });
  controller = new Controller({
    name: 'servicebinding',
    for: serviceBindingType,
    reconciler,
    workers: options.workers ?? 2,
  });
  manager.add(controller);
  if (options.ensureDefaultMappings ?? true) {
    manager.addRunnable(defaultMappingsRunnable(manager.client, manager.log));
  }
  return controller;
}

/**
 * What the workload caches keep: workloads are only ever patched with what a binding changes
 * (`writeSubjects`), never written back whole, so kubectl's last-applied annotation (a full copy
 * of the applied object) need not be held. Nor `.status` of the built-in kinds, which no Provisioned
 * Service is: a kind both a workload and a service keeps its status for the resolver.
 */
export const workloadCacheTransform: TransformFunc = chainTransforms(
  stripManagedFields,
  stripLastAppliedAnnotation,
);
const builtInWorkloadCacheTransform: TransformFunc = chainTransforms(workloadCacheTransform, stripStatus);

function trimWorkloadCaches(manager: Manager, options: AddServiceBindingControllerOptions): void {
  const services = new Set((options.serviceTypes ?? [serviceBindingType]).map(groupKind));
  const builtIn = new Set(defaultSubjectTypes.map(groupKind));
  for (const type of options.workloadTypes ?? defaultWorkloadTypes) {
    const gk = groupKind(type);
    if (services.has(gk)) continue;
    try {
      manager.informers.setTransform(
        type,
        builtIn.has(gk) ? builtInWorkloadCacheTransform : workloadCacheTransform,
      );
    } catch (err) {
      // Another controller of this manager asked for the informer first: its cache stays whole.
      manager.log.info({ err, kind: type.kind }, 'workload cache kept whole');
    }
  }
}

/** Who creates the default mappings (`metadata.managedFields`). */
export const defaultMappingsFieldManager = 'bindery-default-mappings';

export interface DefaultMappingsRunnableOptions {
  /** Default `defaultMappings`. */
  mappings?: readonly ClusterWorkloadResourceMapping[];
  /** First retry delay, doubled up to `maxBackoffMs`. Default 1 s. */
  initialBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
}

/**
 * A leader-only Runnable that creates each default ClusterWorkloadResourceMapping that does not
 * exist (GET, then CREATE; AlreadyExists counts as done) and then returns. An existing mapping is
 * never updated, so an operator's edit wins; to go without one, turn this off
 * (`ensureDefaultMappings: false`). Any other error is retried with backoff until the signal
 * aborts: on a first install the validating webhook (served by this same pod) may not answer yet.
 */
export function defaultMappingsRunnable(
  client: Pick<Manager['client'], 'get' | 'create'>,
  log: Logger,
  options: DefaultMappingsRunnableOptions = {},
): Runnable {
  const mappings = options.mappings ?? defaultMappings;
  const initialBackoffMs = options.initialBackoffMs ?? 1_000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  return {
    name: 'default-mappings',
    needLeaderElection: true,
    start: async (signal) => {
      for (const mapping of mappings) {
        const name = mapping.metadata.name ?? '';
        const ref = { apiVersion: mapping.apiVersion ?? '', kind: mapping.kind ?? '', name };
        let backoffMs = initialBackoffMs;
        for (;;) {
          if (signal.aborted) return;
          try {
            const outcome = await ensureMapping(client, ref, mapping, signal);
            log.info(
              { mapping: name },
              outcome === 'created' ? 'created default mapping' : 'default mapping exists',
            );
            break;
          } catch (err) {
            if (signal.aborted) return;
            log.info(
              { err, mapping: name, retryInMs: backoffMs },
              'could not ensure default mapping; retrying',
            );
            await sleep(backoffMs, signal);
            backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
          }
        }
      }
    },
  };
}

async function ensureMapping(
  client: Pick<Manager['client'], 'get' | 'create'>,
  ref: ObjectRef,
  mapping: ClusterWorkloadResourceMapping,
  signal: AbortSignal,
): Promise<'created' | 'exists'> {
  try {
    await client.get(ref, { signal });
    return 'exists';
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await client.create(deepCopy(mapping), {
      fieldManager: defaultMappingsFieldManager,
      signal,
    });
    return 'created';
  } catch (err) {
    if (isAlreadyExists(err)) return 'exists';
    throw err;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

// ---- Sub-reconcilers ----------------------------------------------------------------------------

/** Spec problems the CRD schema lets through (a webhook would refuse them): reported, nothing touched. */
function validateBinding(): SyncReconciler<ServiceBinding> {
  return new SyncReconciler<ServiceBinding>({
    name: 'ValidateBinding',
    sync: (ctx, binding) => {
      const errors = validateServiceBinding(binding);
      if (errors.length === 0) return;
      const message = `invalid ServiceBinding: ${errors.map(formatFieldError).join('; ')}`;
      conditions(ctx, binding).markFalse(
        ServiceBindingConditions.workloadProjected,
        ServiceBindingReasons.invalidSpec,
        message,
      );
      warn(ctx, binding, ServiceBindingReasons.invalidSpec, message);
      throw new HaltSubReconcilers('invalid spec');
    },
  });
}

/**
 * DS-1/PS-1, SA-1..SA-3: resolves the binding Secret. A changed `status.binding.name` is written
 * (and the rest halted) before any workload is touched, as the RI does, so everything that
 * projects sees the new name. Not run while the binding is being deleted.
 */
function resolveBindingSecret(
  options: ServiceBindingReconcilerOptions,
  watchedServices: ReadonlySet<string>,
  pollMs: number,
  secretAccess: SecretAccess,
): SyncReconciler<ServiceBinding> {
  const { resourceFor, kindWatcher } = options;
  return new SyncReconciler<ServiceBinding>({
    name: 'ResolveBindingSecret',
    sync: async (ctx, binding) => {
      const { config } = ctx;
      const ref = serviceRef(binding);
      const direct = isDirectSecretReference(ref);
      config.tracker.trackReference(ref, selfRef(binding));
      // A watched kind enqueues the binding through the tracker; the others are polled.
      let watched = direct || watchedServices.has(groupKind(ref));
      let pollNote = '';
      if (watched || kindWatcher === undefined) {
        kindWatcher?.release(ctx.request, serviceSlot);
      } else {
        try {
          // A duck-typed cache: identity and `.status.binding.name`, all the controller reads.
          const denied = await kindWatcher.watch(ctx.request, serviceSlot, ref, {
            transform: provisionedServiceDuck,
            signal: ctx.signal,
          });
          watched = denied === undefined;
          if (denied) {
            pollNote = `the controller may not watch ${ref.kind} (${describeDenied(denied)}): the service is polled every ${formatSeconds(pollMs)}`;
          }
        } catch (err) {
          // Not served: resolving the service below says so.
          if (!(err instanceof NoKindMatchError)) throw err;
        }
      }
      const poll: Result = watched ? {} : { requeueAfterMs: pollMs };
      const resolver = newResolver(ctx, resourceFor, secretAccess);
      const status = statusOf(binding);
      const cond = conditions(ctx, binding);
      const what = direct ? `the Secret "${ref.name}"` : `the service ${ref.kind} "${ref.name}"`;

      let resolved;
      try {
        resolved = await resolver.resolveService(binding, ctx.signal, { watched });
      } catch (err) {
        let reason: string;
        let message: string;
        // Retried even when halted: no watch event follows a CRD being installed or a
        // ClusterRole being added, and a polled service's creation has none either.
        let retry: Result = { requeueAfterMs: pollMs };
        if (isNotFound(err)) {
          // AMB-1: not found is False, as the spec says (the RI says Unknown).
          reason = ServiceBindingReasons.serviceNotFound;
          message = `${what} was not found`;
          retry = poll;
        } else if (err instanceof NoKindMatchError) {
          reason = ServiceBindingReasons.serviceNotFound;
          message = `${what} was not found: ${err.message}`;
        } else if (isForbidden(err)) {
          reason = ServiceBindingReasons.serviceForbidden;
          message = `the controller does not have permission to get ${what}: ${await permission(
            resourceFor,
            ref,
            'get',
            err,
          )}`;
        } else {
          throw err; // AMB-3: anything else is retried with backoff, status untouched.
        }
        cond.markFalse(ServiceBindingConditions.serviceAvailable, reason, message);
        warn(ctx, binding, reason, message);
        // The workloads keep what they have: a service that is back needs no new rollout.
        throw new HaltSubReconcilers(reason, retry);
      }

      if (resolved.secretName === undefined) {
        // AMB-2: Unknown, as the RI; the projection is removed from the workloads below.
        cond.markUnknown(
          ServiceBindingConditions.serviceAvailable,
          ServiceBindingReasons.serviceMissingBinding,
          'the service was found, but did not contain a binding secret',
        );
      } else {
        cond.markTrue(
          ServiceBindingConditions.serviceAvailable,
          ServiceBindingReasons.resolvedBindingSecret,
          pollNote,
        );
        // The bound Secret, for the Secret watch to enqueue the binding on rollout (a direct
        // Secret is tracked as the service already).
        if (!direct) {
          config.tracker.trackReference(
            { ...secretType, namespace: ref.namespace ?? '', name: resolved.secretName },
            selfRef(binding),
          );
        }
      }
      ctx.stash.set(secretNameKey, resolved.secretName);
      ctx.stash.set(pollKey, poll);

      const previous = binding.status?.binding?.name;
      if (previous !== resolved.secretName) {
        // SB-24 / AMB-19: persist the name first; the status update enqueues the binding again.
        if (resolved.secretName === undefined) delete status['binding'];
        else status['binding'] = { name: resolved.secretName };
        throw new HaltSubReconcilers('binding secret changed');
      }
    },
  });
}

interface Failure {
  workload: string;
  reason: string;
  message: string;
  /** A failed write worth retrying with backoff (not one that waits for a change). */
  retry: boolean;
}

/** RI-1..RI-13, SB-22, SB-23, RB-1..RB-4: projects into targeted workloads, unprojects the rest. */
function projectBinding(
  options: ServiceBindingReconcilerOptions,
  watchedWorkloads: ReadonlySet<string>,
): SyncReconciler<ServiceBinding> {
  return new SyncReconciler<ServiceBinding>({
    name: 'ProjectBinding',
    sync: (ctx, binding) => reconcileWorkloads(ctx, binding, options, watchedWorkloads, false),
    finalize: (ctx, binding) => reconcileWorkloads(ctx, binding, options, watchedWorkloads, true),
  });
}

async function reconcileWorkloads(
  ctx: ReconcileContext,
  binding: ServiceBinding,
  options: ServiceBindingReconcilerOptions,
  watchedWorkloads: ReadonlySet<string>,
  deleting: boolean,
): Promise<Result> {
  const { config } = ctx;
  const type = workloadType(binding);
  if (!type.apiVersion || !type.kind) return {}; // nothing could ever have been projected
  const resolver = newResolver(ctx, options.resourceFor);
  const namespace = binding.metadata.namespace ?? '';
  const cond = (): ConditionManager => conditions(ctx, binding);
  const name = binding.spec.workload.name;
  const poll = ctx.stash.get(pollKey) ?? {};
  // What nothing watched would tell: a kind served or allowed later.
  const retry: Result = aggregateResults(poll, { requeueAfterMs: options.servicePollIntervalMs ?? 60_000 });

  if (!deleting) {
    config.tracker.trackReference(
      name !== undefined && name !== ''
        ? { ...type, namespace, name }
        : { ...type, namespace, selector: workloadSelector(binding)?.toString() ?? '' },
      selfRef(binding),
    );
  }

  const fail = (reason: string, message: string, result: Result = poll): Result => {
    cond().markFalse(ServiceBindingConditions.workloadProjected, reason, message);
    warn(ctx, binding, reason, message);
    return result;
  };
  const kindNotFound = (err: NoKindMatchError): Result =>
    fail(
      ServiceBindingReasons.workloadKindNotFound,
      `the workload kind is not served: ${err.message}`,
      retry,
    );

  // RB-1/RB-2: the mapping of the workload resource; RB-4: a change to it enqueues this binding.
  let mapping: MappingSpec | undefined;
  try {
    const mappingName = await resolver.mappingName(type);
    if (mappingName !== undefined && !deleting) {
      config.tracker.trackReference(
        { ...clusterWorkloadResourceMappingType, name: mappingName },
        selfRef(binding),
      );
    }
    mapping = (await resolver.resolveMapping(type, ctx.signal)).spec;
  } catch (err) {
    if (deleting) {
      // RB-3: unprojection uses the mapping stashed on each workload; this is only the fallback.
      mapping = undefined;
    } else if (err instanceof NoKindMatchError) {
      return kindNotFound(err);
    } else if (isForbidden(err)) {
      return fail(
        ServiceBindingReasons.workloadForbidden,
        `the controller does not have permission to get the workload's mapping: ${await permission(
          options.resourceFor,
          clusterWorkloadResourceMappingType,
          'get',
          err,
        )}`,
      );
    } else {
      throw err;
    }
  }

  // A kind not watched from the start is checked before anything lists it: served, a workload,
  // and listable; then it is watched for as long as this binding names it.
  if (!watchedWorkloads.has(groupKind(type))) {
    let denied: WatchDenied | undefined;
    try {
      await options.resourceFor(type);
      const unsupported = unsupportedWorkloadKind(type, mapping !== undefined);
      if (unsupported !== undefined) {
        options.kindWatcher?.release(ctx.request, workloadSlot);
        // Nothing can have been projected into it.
        return deleting ? {} : fail(ServiceBindingReasons.workloadKindNotSupported, unsupported);
      }
      denied = await options.kindWatcher?.watch(ctx.request, workloadSlot, type, {
        transform: workloadCacheTransform,
        signal: ctx.signal,
      });
    } catch (err) {
      if (!(err instanceof NoKindMatchError)) throw err;
      options.kindWatcher?.release(ctx.request, workloadSlot);
      return deleting ? {} : kindNotFound(err);
    }
    if (denied !== undefined) {
      // Unbinding: what the controller may not list it cannot undo.
      return deleting
        ? {}
        : fail(
            ServiceBindingReasons.workloadForbidden,
            `the controller may not watch the workloads: ${describeDenied(denied)}`,
            retry,
          );
    }
  }

  let workloads;
  try {
    workloads = await resolver.resolveWorkloads(binding, ctx.signal);
  } catch (err) {
    // Unbinding: a kind that is gone, or out of reach, holds nothing we can undo.
    if (deleting && (isNotFound(err) || isForbidden(err) || err instanceof NoKindMatchError)) return {};
    if (err instanceof NoKindMatchError) return kindNotFound(err);
    if (isForbidden(err)) {
      return fail(
        ServiceBindingReasons.workloadForbidden,
        `the controller does not have permission to list the workloads: ${await permission(
          options.resourceFor,
          type,
          'list',
          err,
        )}`,
        retry,
      );
    }
    throw err;
  }

  const secretName = deleting ? undefined : ctx.stash.get(secretNameKey);
  const secretAccess = options.secretAccess ?? 'metadata';
  const deniedEnv = new Set(options.deniedEnvNames ?? []);
  let secretVersion: string | undefined;
  if (!deleting && secretName !== undefined && rolloutEnabled(binding) && secretAccess === 'metadata') {
    const meta = await resolver.secretMetadata(namespace, secretName, ctx.signal);
    secretVersion = meta?.metadata.resourceVersion;
  }

  const failures: Failure[] = [];
  const items = [
    ...workloads.targeted.map((w) => ({ original: w, bind: !deleting })),
    ...workloads.stale.map((w) => ({ original: w, bind: false })),
  ];
  const changes: SubjectChange[] = [];
  for (const { original, bind } of items) {
    const label = describe(original);
    let desired: KubeObject;
    try {
      desired = bind
        ? bindWorkload(binding, original, mapping, secretName, secretVersion, deniedEnv)
        : unbindWorkload(binding, original, mapping);
    } catch (err) {
      if (!(err instanceof ProjectionError)) throw err;
      failures.push({ workload: label, reason: err.code, message: `${label}: ${err.message}`, retry: false });
      // A denied variable may have been projected before the deny list was set: take it out.
      const undo =
        err.code === envNameDenied ? unprojectedOrUndefined(binding, original, mapping) : undefined;
      if (undo === undefined) continue;
      desired = undo;
    }
    changes.push({ original, desired });
  }

  // The bindings package's write loop: a patch of what changed, so the fields a cache leaves out
  // (status, the last-applied annotation) are never written back.
  const ducks = new DuckClient({ client: config.client });
  let conflicts = 0;
  for (const write of await writeSubjects(changes, { ducks, signal: ctx.signal })) {
    const { original } = write;
    const label = describe(original);
    if (write.outcome === 'conflict') {
      conflicts++; // RI-11: not reflected; a fresh read on the next reconcile will do.
    } else if (write.outcome === 'patched') {
      // The API server defaults some fields the projector leaves out: a patch that changed
      // nothing keeps the resourceVersion, and is not news.
      if (write.stored.metadata.resourceVersion !== original.metadata.resourceVersion) {
        ctx.originalConfig.recorder.event(binding, {
          type: 'Normal',
          reason: 'Updated',
          note: `Updated ${original.kind ?? type.kind} "${original.metadata.name ?? ''}"`,
        });
      }
    } else if (write.outcome === 'failed') {
      const err = write.error;
      if (isNotFound(err)) {
        // Deleted while we worked: nothing left to project into.
      } else if (isForbidden(err)) {
        failures.push({
          workload: label,
          reason: ServiceBindingReasons.workloadForbidden,
          message: `${label}: the controller does not have permission to patch the workloads: ${await permission(
            options.resourceFor,
            refOf(original),
            'patch',
            err,
          )}`,
          retry: false,
        });
      } else {
        failures.push({
          workload: label,
          reason: ServiceBindingReasons.workloadUpdateFailed,
          message: `${label}: ${errorMessage(err)}`,
          // Invalid (422), e.g. a Job's immutable pod template: the same update would be refused
          // again, so report it and wait for a change instead of retrying with backoff.
          retry: !isInvalid(err),
        });
      }
    }
  }

  for (const f of failures) warn(ctx, binding, f.reason, f.message);
  if (deleting) {
    // The finalizer stays until every workload is unbound, except where we may not write.
    const blocking = failures.filter((f) => f.reason !== ServiceBindingReasons.workloadForbidden);
    if (blocking.length > 0) throw new Error(`unprojecting: ${blocking.map((f) => f.message).join('; ')}`);
    // Not a requeue: a finalize that returns removes the finalizer.
    if (conflicts > 0) throw new Error(`${conflicts} workload(s) changed while being unprojected; retrying`);
    return {};
  }

  if (workloads.missing) {
    // AMB-1 / RI-12: reflected, and False as the spec says; the tracker enqueues on creation.
    const message = `the workload was not found: ${type.kind} "${name ?? ''}" in namespace "${namespace}"`;
    failures.unshift({ workload: '', reason: ServiceBindingReasons.workloadNotFound, message, retry: false });
    warn(ctx, binding, ServiceBindingReasons.workloadNotFound, message);
  }
  const first = failures[0];
  if (first !== undefined) {
    // SB-23: partial failures aggregated, naming every failing workload.
    const total = workloads.targeted.length + workloads.stale.length;
    const prefix =
      failures.length > 1 || total > 1
        ? `${failures.length} of ${Math.max(total, failures.length)} workloads failed: `
        : '';
    cond().markFalse(
      ServiceBindingConditions.workloadProjected,
      first.reason,
      `${prefix}${failures.map((f) => f.message).join('; ')}`,
    );
    if (failures.some((f) => f.retry)) throw new Error(failures.find((f) => f.retry)?.message);
    return conflicts > 0 ? { requeue: true } : poll;
  }
  if (conflicts > 0) return { requeue: true };
  const notes = [
    ...(workloads.targeted.length === 0
      ? [
          `no ${type.kind} in namespace "${namespace}" matches the selector ${workloadSelector(binding)?.toString() ?? ''}`,
        ]
      : []),
    ...(rolloutEnabled(binding) && secretAccess === 'none'
      ? [`${rolloutAnnotation} is ignored: the manager runs with --secret-access=none, so it reads no Secret`]
      : []),
  ];
  const message = notes.join('; ');
  cond().markTrue(
    ServiceBindingConditions.workloadProjected,
    ServiceBindingReasons.workloadProjected,
    message,
  );
  return poll;
}

// ---- Projection with the rollout annotation ---------------------------------------------------

function rolloutEnabled(binding: ServiceBinding): boolean {
  return binding.metadata.annotations?.[rolloutAnnotation] === 'true';
}

/**
 * `project`, plus the opt-in Secret version annotation, plus the API server's defaults on our
 * fieldRefs. Throws a ProjectionError (`EnvNameDenied`) if `spec.env` names a denied variable.
 */
export function bindWorkload(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
  secretName: string | undefined,
  secretVersion: string | undefined,
  deniedEnvNames: ReadonlySet<string> = new Set(),
): KubeObject {
  if (secretName !== undefined) checkDeniedEnv(binding, deniedEnvNames);
  const cleaned = withoutSecretVersion(binding, workload, mapping);
  const desired = project(binding, cleaned, mapping, secretName) as KubeObject;
  if (secretName !== undefined && secretVersion !== undefined) {
    const annotations = podAnnotations(desired, mapping);
    if (annotations !== undefined)
      annotations[secretVersionAnnotation(binding.metadata.uid ?? '')] = secretVersion;
  }
  defaultProjectedFieldRefs(desired);
  return desired;
}

/** `workload` without this binding if it carries it; undefined if not, or if that cannot be done. */
export function unprojectedOrUndefined(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
): KubeObject | undefined {
  if (!isProjected(binding, workload)) return undefined;
  try {
    return unbindWorkload(binding, workload, mapping);
  } catch (err) {
    if (err instanceof ProjectionError) return undefined;
    throw err;
  }
}

/** `unproject`, and the Secret version annotation goes too. */
export function unbindWorkload(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
): KubeObject {
  return unproject(binding, withoutSecretVersion(binding, workload, mapping), mapping) as KubeObject;
}

/**
 * The Secret version annotation this binding left on `workload` (rollout opt-in), found with the
 * mapping it was projected with (RB-3): the admission webhook keeps it when it re-projects.
 */
export function projectedSecretVersion(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
): string | undefined {
  const uid = binding.metadata.uid ?? '';
  return podAnnotations(workload, mapping, mappingAnnotation(uid))?.[secretVersionAnnotation(uid)];
}

/** A copy without this binding's Secret version annotation, found with the mapping it was projected with (RB-3). */
function withoutSecretVersion(
  binding: ServiceBinding,
  workload: KubeObject,
  fallback: MappingSpec | undefined,
): KubeObject {
  const copy = deepCopy(workload);
  const annotations = podAnnotations(copy, fallback, mappingAnnotation(binding.metadata.uid ?? ''));
  if (annotations !== undefined) delete annotations[secretVersionAnnotation(binding.metadata.uid ?? '')];
  return copy;
}

/**
 * The pod-template annotations of `w`, located with the mapping stashed under `stashKey` when
 * there is one (RB-3), else with `mapping`; undefined when absent (never created).
 */
function podAnnotations(
  w: KubeObject,
  mapping: MappingSpec | undefined,
  stashKey?: string,
): Record<string, string> | undefined {
  let spec = mapping;
  const stash = stashKey === undefined ? undefined : w.metadata.annotations?.[stashKey];
  const stashField = `metadata.annotations['${stashKey ?? ''}']`;
  if (stashKey !== undefined && stash !== undefined) spec = parseMappingStash(stash, stashField);
  const apiVersion = w.apiVersion ?? '';
  const version = apiVersion.slice(apiVersion.lastIndexOf('/') + 1);
  const template = selectMappingTemplate(spec, version);
  let fields: string[];
  try {
    fields = parseFixedJsonPath(template.annotations);
  } catch (err) {
    // Anyone who may edit the workload may write the stash: a condition, not a retried error.
    if (!(err instanceof FixedJsonPathError)) throw err;
    const message = `annotations: invalid Fixed JSONPath ${JSON.stringify(err.expression)} ${err.message}`;
    throw stash === undefined
      ? new ProjectionError(
          'InvalidMapping',
          message,
          `spec.versions[version=${JSON.stringify(template.version)}]`,
        )
      : new ProjectionError('InvalidMappingStash', message, stashField);
  }
  let cur: unknown = w;
  for (const field of fields) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, field))
      return undefined;
    cur = (cur as Record<string, unknown>)[field];
  }
  return typeof cur === 'object' && cur !== null && !Array.isArray(cur)
    ? (cur as Record<string, string>)
    : undefined;
}

/**
 * The API server defaults `fieldRef.apiVersion` to `v1` in pod templates; writing it ourselves on
 * the fieldRefs the projector owns keeps a re-projection equal to what is stored (no endless updates).
 */
function defaultProjectedFieldRefs(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) defaultProjectedFieldRefs(v);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const obj = value as Record<string, unknown>;
  const fieldRef = obj['fieldRef'];
  if (typeof fieldRef === 'object' && fieldRef !== null && !Array.isArray(fieldRef)) {
    const ref = fieldRef as Record<string, unknown>;
    const path = ref['fieldPath'];
    if (
      typeof path === 'string' &&
      path.startsWith("metadata.annotations['projector.servicebinding.io/") &&
      ref['apiVersion'] === undefined
    ) {
      ref['apiVersion'] = 'v1';
    }
  }
  for (const v of Object.values(obj)) defaultProjectedFieldRefs(v);
}

// ---- Helpers ------------------------------------------------------------------------------------

function newResolver(
  ctx: ReconcileContext,
  resourceFor: ResourceFor,
  secretAccess: SecretAccess = 'metadata',
): Resolver {
  return new Resolver({
    apiReader: ctx.config.apiReader,
    cacheReader: ctx.config.client,
    resourceFor,
    secretAccess,
  });
}

function conditions(ctx: ReconcileContext, binding: ServiceBinding): ConditionManager {
  return serviceBindingConditions.manage(statusOf(binding), ctx.config.clock);
}

function statusOf(binding: ServiceBinding): Record<string, unknown> {
  const obj: KubeObject = binding;
  if (typeof obj['status'] !== 'object' || obj['status'] === null) obj['status'] = {};
  return obj['status'] as Record<string, unknown>;
}

function warn(ctx: ReconcileContext, binding: ServiceBinding, reason: string, note: string): void {
  ctx.originalConfig.recorder.event(binding, { type: 'Warning', reason, note });
}

function selfRef(binding: ServiceBinding): ObjectRef {
  return {
    apiVersion: binding.apiVersion ?? serviceBindingType.apiVersion,
    kind: binding.kind ?? serviceBindingType.kind,
    namespace: binding.metadata.namespace ?? '',
    name: binding.metadata.name ?? '',
  };
}

function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name ?? '',
  };
}

function describe(obj: KubeObject): string {
  return `${obj.kind ?? ''} ${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

function groupKind(type: TypeRef): string {
  return `${type.kind}.${parseApiVersion(type.apiVersion).group}`;
}

/** Metadata-only Secret events name `PartialObjectMetadata`; the tracker knows them as Secrets. */
function asSecret(map: MapFunc): MapFunc {
  return (obj) => map({ ...obj, apiVersion: secretType.apiVersion, kind: secretType.kind });
}

/** `needs "get" on provisionedbackends.stable.example.com (<the API server's message>)`. */
async function permission(
  resourceFor: ResourceFor,
  ref: TypeRef,
  verb: string,
  err: unknown,
): Promise<string> {
  let resource = `${ref.kind}.${parseApiVersion(ref.apiVersion).group}`;
  try {
    const info = await resourceFor(ref);
    resource = info.group === '' ? info.resource : `${info.resource}.${info.group}`;
  } catch {
    // The kind's name will do.
  }
  return `needs "${verb}" on ${resource} (${errorMessage(err)})`;
}

/** `60 s`, `0.3 s`. */
function formatSeconds(ms: number): string {
  return `${ms / 1000} s`;
}
