export * from './projector/index.ts';
export * from './apis/index.ts';
export * from './resolver/index.ts';
// The API constants (serviceBindingType, the finalizer, conditions, reasons, rollout annotations)
// come with apis/ above.
export {
  addServiceBindingController,
  defaultWorkloadTypes,
  serviceBindingReconciler,
} from './controllers/servicebinding.ts';
export type {
  AddServiceBindingControllerOptions,
  ServiceBindingReconcilerOptions,
} from './controllers/servicebinding.ts';
export { bindWorkload, unbindWorkload } from './controllers/workload-projection.ts';
export { projectedSecretVersion, rolloutHook } from './controllers/rollout.ts';
export type { RolloutHookOptions } from './controllers/rollout.ts';
export type { BindingHookContext, ProjectionHook, WorkloadHooks } from './controllers/projection-hooks.ts';
export { workloadCacheTransform } from './controllers/workload-cache.ts';
export {
  checkDeniedEnv,
  envNameDenied,
  parseDeniedEnvNames,
  recommendedDeniedEnvNames,
} from './controllers/env-policy.ts';
export * from './webhooks/index.ts';
export * from './install/index.ts';
