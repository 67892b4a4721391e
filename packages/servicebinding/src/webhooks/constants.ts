// Paths, names and annotations of the ServiceBinding webhooks: what an install manifest, the
// `bindery` CLI and the configurations this package writes must agree on.

/** Mutating: projects every binding that targets a workload into it at CREATE and UPDATE. */
export const interceptorPath = '/interceptor';
/** Validating, always allows: enqueues the bindings affected by a workload, service or Secret change. */
export const triggerPath = '/trigger';
/** Validating: ServiceBinding field validation (ratcheted on update). */
export const validateServiceBindingPath = '/validate-servicebinding-io-v1-servicebinding';
/** Validating: ClusterWorkloadResourceMapping field validation. */
export const validateMappingPath = '/validate-servicebinding-io-v1-clusterworkloadresourcemapping';

/** Default configuration names (cluster-scoped objects). */
export const defaultWebhookConfigurationNames = {
  /** MutatingWebhookConfiguration holding the interceptor. */
  interceptor: 'bindery-servicebinding-interceptor',
  /** ValidatingWebhookConfiguration holding the trigger. */
  trigger: 'bindery-servicebinding-trigger',
  /** ValidatingWebhookConfiguration holding the two API validation webhooks. */
  validation: 'bindery-servicebinding-validation',
} as const;

/** The webhooks' own names inside the configurations (three DNS labels at least). */
export const webhookNames = {
  interceptor: 'interceptor.servicebinding.bindery.dev',
  trigger: 'trigger.servicebinding.bindery.dev',
  serviceBinding: 'servicebindings.validation.servicebinding.bindery.dev',
  mapping: 'clusterworkloadresourcemappings.validation.servicebinding.bindery.dev',
} as const;

/**
 * On the interceptor and trigger configurations: their `webhooks[*].rules` are rewritten by the
 * running controller (server-side apply, field manager `webhookFieldManager`), so a GitOps tool
 * must not revert them. Argo CD: `ignoreDifferences` with `managedFieldsManagers: [bindery-webhooks]`
 * (or `jqPathExpressions: ['.webhooks[]?.rules']`); Flux: `kustomize.toolkit.fluxcd.io/ssa:
 * IfNotPresent`; kapp: a rebase rule on `webhooks[*].rules`. See `addServiceBindingWebhooks`.
 */
export const managedRulesAnnotation = 'bindery.dev/managed-rules';

/** The field manager of every write to the webhook configurations. */
export const webhookFieldManager = 'bindery-webhooks';

/**
 * Written on a ServiceBinding by a replica that is not the leader when its trigger webhook sees a
 * change the binding depends on: the leader's ServiceBinding informer sees the update and
 * reconciles. The value is the time of the trigger (RFC 3339, milliseconds).
 */
export const triggerAnnotation = 'bindery.dev/triggered-at';
