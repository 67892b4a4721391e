// The ServiceBinding webhooks' public API.
export { addServiceBindingWebhooks } from './add.ts';
export type { AddServiceBindingWebhooksOptions, ServiceBindingWebhooks } from './add.ts';
export * from './constants.ts';
export { AccessChecker } from './access-checker.ts';
export type { AccessCheckerOptions, ResourceAccess } from './access-checker.ts';
export { ServiceBindingIndex } from './binding-index.ts';
export type { IndexedBinding } from './binding-index.ts';
export { WebhookConfigurationReconciler } from './configurations.ts';
export type {
  DesiredRules,
  WebhookClientConfigOptions,
  WebhookConfigurationNamesOptions,
  WebhookConfigurationsOptions,
  WebhookEndpoint,
} from './configurations.ts';
export { interceptor } from './interceptor.ts';
export type { InterceptorOptions, MappingLookup } from './interceptor.ts';
export { affectedBindings, trigger } from './trigger.ts';
export type { BindingKey, TriggerOptions } from './trigger.ts';
export { TriggerForwarder } from './trigger-forwarder.ts';
export type { TriggerForwarderOptions } from './trigger-forwarder.ts';
export { validateMappingWebhook, validateServiceBindingWebhook } from './validation.ts';
export type { ValidateServiceBindingOptions } from './validation.ts';
