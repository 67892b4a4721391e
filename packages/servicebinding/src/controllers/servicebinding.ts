// The ServiceBinding controller (spec §"Reconciler Implementation"; the RI's
// servicebinding_controller.go), told in the spec's order: it holds a finalizer, and runs in
// sequence one reconciler per step —
//   validate-binding.ts        spec problems the schema lets through
//   resolve-binding-secret.ts  the service's Secret, persisted in `status.binding.name` first
//   resolve-workloads.ts       the mapping, the targeted workloads and those no longer targeted
//   project-workloads.ts       projection between the hooks (rollout.ts built in), then patches
//   report-status.ts           `WorkloadProjected`, retries, and what holds the finalizer
// Conditions carry the RI's reason strings with the statuses the spec requires (§6.2); they and
// the other API constants live in apis/servicebinding-lifecycle.ts.

import { defaultSubjectTypes } from '@bindery/bindings';
import { groupKind, isTombstone } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import {
  Controller,
  OnDemandInformers,
  ResourceReconciler,
  Sequence,
  WithFinalizer,
  enqueueTracked,
} from '@bindery/runtime';
import type { Manager, MapFunc, SetupContext } from '@bindery/runtime';
import { serviceBindingConditions, serviceBindingFinalizer, serviceBindingType } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import { clusterWorkloadResourceMappingType, secretIdentity, secretType } from '../resolver/index.ts';
import type { ResourceFor, SecretAccess } from '../resolver/index.ts';
import { defaultMappingsRunnable } from './default-mappings.ts';
import { AccessCheckedKindWatcher } from './kind-watcher.ts';
import type { KindWatcher } from './kind-watcher.ts';
import { projectWorkloads } from './project-workloads.ts';
import type { ProjectionHook } from './projection-hooks.ts';
import { reportStatus } from './report-status.ts';
import { resolveBindingSecret } from './resolve-binding-secret.ts';
import { resolveWorkloads } from './resolve-workloads.ts';
import { rolloutHook } from './rollout.ts';
import { validateBinding } from './validate-binding.ts';
import { trimWorkloadCaches } from './workload-cache.ts';

// Where they were before the controller was split, for those who import them from here.
export {
  rolloutAnnotation,
  secretVersionAnnotation,
  secretVersionAnnotationPrefix,
  serviceBindingConditions,
  ServiceBindingConditions,
  serviceBindingFinalizer,
  ServiceBindingReasons,
  serviceBindingType,
} from '../apis/index.ts';
export { defaultMappingsFieldManager, defaultMappingsRunnable } from './default-mappings.ts';
export type { DefaultMappingsRunnableOptions } from './default-mappings.ts';
export { projectedSecretVersion } from './rollout.ts';
export { bindWorkload, unbindWorkload, unprojectedOrUndefined } from './workload-projection.ts';

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
  /**
   * Run around each workload's projection after the built-in rollout hook (`rolloutHook`), in
   * order: see `ProjectionHook`.
   */
  hooks?: readonly ProjectionHook[];
}

/** The ServiceBinding reconciler. Register it with a Controller `for` `serviceBindingType`. */
export function serviceBindingReconciler(
  options: ServiceBindingReconcilerOptions,
): ResourceReconciler<ServiceBinding> {
  const { resourceFor, kindWatcher } = options;
  const workloadTypes = options.workloadTypes ?? defaultWorkloadTypes;
  const serviceTypes = options.serviceTypes ?? [serviceBindingType];
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
          resolveBindingSecret({
            resourceFor,
            kindWatcher,
            watchedServices: new Set(serviceTypes.map(groupKind)),
            pollMs,
            secretAccess,
          }),
          resolveWorkloads({
            resourceFor,
            kindWatcher,
            watchedWorkloads: new Set(workloadTypes.map(groupKind)),
            pollMs,
          }),
          projectWorkloads({
            resourceFor,
            hooks: [rolloutHook({ resourceFor, secretAccess }), ...(options.hooks ?? [])],
            deniedEnvNames: new Set(options.deniedEnvNames ?? []),
          }),
          reportStatus({ pollMs }),
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
 * names them any more. The manager's workload caches drop what the controller never reads
 * (`workload-cache.ts`: kubectl's last-applied annotation, status of the built-in kinds): another
 * controller of the same manager that reads those fields should ask for its informer first.
 */
export function addServiceBindingController(
  manager: Manager,
  options: AddServiceBindingControllerOptions = {},
): Controller {
  let controller: Controller | undefined = undefined;
  // Before anything asks for the Secret cache: it must never hold more than a Secret's identity.
  manager.informers.setTransform(secretType, secretIdentity);
  trimWorkloadCaches(
    manager,
    options.workloadTypes ?? defaultWorkloadTypes,
    options.serviceTypes ?? [serviceBindingType],
  );
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

/** Metadata-only Secret events name `PartialObjectMetadata`; the tracker knows them as Secrets. */
function asSecret(map: MapFunc): MapFunc {
  return (obj) => map({ ...obj, apiVersion: secretType.apiVersion, kind: secretType.kind });
}
