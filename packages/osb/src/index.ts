// @bindery/osb: the Open Service Broker platform side (OSB 2.17): APIs, OSB client, controllers.
export * from './apis/index.ts';
export * from './client/index.ts';
export * from './operations/orphan-mitigation.ts';
export * from './operations/polling.ts';
export * from './credentials/secret.ts';
export * from './parameters/parameters.ts';
export * from './parameters/schema.ts';
export * from './platform/broker-api.ts';
export * from './platform/identity.ts';
export * from './platform/osb-client-api.ts';
export * from './controllers/add-platform.ts';
export {
  serviceInstanceReconciler,
  serviceInstanceType,
  serviceCredentialBindingType,
  InstanceReasons,
} from './controllers/serviceinstance.ts';
export type { ServiceInstanceReconcilerOptions } from './controllers/serviceinstance.ts';
export {
  serviceCredentialBindingReconciler,
  BindingReasons,
} from './controllers/servicecredentialbinding.ts';
export type { ServiceCredentialBindingReconcilerOptions } from './controllers/servicecredentialbinding.ts';
export * from './broker/index.ts';
export * from './manager.ts';
export * from './rbac.ts';
export * from './marketplace.ts';
