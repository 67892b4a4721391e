export * from './projector/index.ts';
export * from './apis/index.ts';
export * from './resolver/index.ts';
export {
  addServiceBindingController,
  bindWorkload,
  defaultWorkloadTypes,
  rolloutAnnotation,
  secretVersionAnnotation,
  secretVersionAnnotationPrefix,
  serviceBindingConditions,
  ServiceBindingConditions,
  serviceBindingFinalizer,
  serviceBindingReconciler,
  ServiceBindingReasons,
  serviceBindingType,
  unbindWorkload,
} from './controllers/servicebinding.ts';
export type {
  AddServiceBindingControllerOptions,
  ServiceBindingReconcilerOptions,
} from './controllers/servicebinding.ts';
export { projectedSecretVersion } from './controllers/servicebinding.ts';
export {
  checkDeniedEnv,
  envNameDenied,
  parseDeniedEnvNames,
  recommendedDeniedEnvNames,
} from './controllers/env-policy.ts';
export * from './webhooks/index.ts';
export * from './install/index.ts';
