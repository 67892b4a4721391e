export * from './client.ts';
export * from './config.ts';
export * from './reconciler.ts';
export * from './result.ts';
export * from './stash.ts';
export * from './equality.ts';
export * from './json-patch.ts';
export * from './conditions.ts';
export * from './finalizers.ts';
export { Tracker as ObjectTracker, enqueueTracked } from './tracker.ts';
export type { TrackerOptions } from './tracker.ts';
export * from './resource-manager.ts';
export * from './reconcilers/resource-reconciler.ts';
export * from './reconcilers/aggregate-reconciler.ts';
export * from './reconcilers/sync-reconciler.ts';
export {
  OnlyReconcileChildStatus,
  controllerReference,
  isControlledBy,
  setControllerReference,
} from './reconcilers/children.ts';
export { ChildReconciler } from './reconcilers/child-reconciler.ts';
export type { ChildReconcilerOptions } from './reconcilers/child-reconciler.ts';
export * from './reconcilers/child-set-reconciler.ts';
export * from './reconcilers/cast-resource.ts';
export * from './reconcilers/sequence.ts';
export * from './reconcilers/if-then.ts';
export * from './reconcilers/while.ts';
export * from './reconcilers/try-catch.ts';
export * from './reconcilers/override-setup.ts';
export * from './reconcilers/with-config.ts';
export * from './reconcilers/with-finalizer.ts';
export * from './reconcilers/admission-webhook-adapter.ts';
export * from './webhook/index.ts';
export * from './cached-client.ts';
export * from './on-demand-informers.ts';
export * from './controller.ts';
export * from './metrics.ts';
export * from './manager.ts';
export * from './duck.ts';
export * from './schema/index.ts';
