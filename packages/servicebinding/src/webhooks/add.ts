// The one entry point that wires the ServiceBinding webhooks into a manager.

import { parseApiVersion } from '@bindery/kube';
import type { KubeClient } from '@bindery/kube';
import type { Controller, Manager, WebhookServer } from '@bindery/runtime';
import { serviceBindingType } from '../controllers/servicebinding.ts';
import { Resolver } from '../resolver/index.ts';
import { AccessChecker } from './access-checker.ts';
import { ServiceBindingIndex } from './binding-index.ts';
import { WebhookConfigurationReconciler } from './configurations.ts';
import type { WebhookClientConfigOptions, WebhookConfigurationNamesOptions } from './configurations.ts';
import {
  interceptorPath,
  triggerPath,
  validateMappingPath,
  validateServiceBindingPath,
} from './constants.ts';
import { interceptor } from './interceptor.ts';
import type { MappingLookup } from './interceptor.ts';
import { trigger } from './trigger.ts';
import { TriggerForwarder } from './trigger-forwarder.ts';
import { validateMappingWebhook, validateServiceBindingWebhook } from './validation.ts';

export interface AddServiceBindingWebhooksOptions {
  /** Serves the four paths; create it with its port and certificate (`certDir`, or `tls` from `generateSelfSigned`). */
  server: WebhookServer;
  /** Add `server` to the manager as a runnable (every replica). Default true; false if you run it yourself. */
  serve?: boolean;
  /** The ServiceBinding controller (`addServiceBindingController`): the leader enqueues triggers into it. */
  controller: Controller;
  /** The configurations' names; defaults `defaultWebhookConfigurationNames`. */
  names?: WebhookConfigurationNamesOptions;
  /**
   * How the API server reaches `server`. Given: the three configurations are created and owned
   * whole. Omitted: only the rules of configurations from the install manifests are programmed.
   */
  clientConfig?: WebhookClientConfigOptions;
  /** Of the interceptor and trigger; default: all namespaces but kube-system and the Service's. */
  namespaceSelector?: Record<string, unknown>;
  /** Gathering of triggers per binding on non-leaders, before one annotation patch. Default 200 ms. */
  triggerDebounceMs?: number;
  /** SelfSubjectAccessReview cache. Default 5 min. */
  accessReviewTtlMs?: number;
  /** Periodic check of the configurations. Default 5 min. */
  rulesResyncMs?: number;
  /**
   * Variables no binding may set: the interceptor warns and does not project (as the controller),
   * and the ServiceBinding validation warns the binding's author.
   */
  deniedEnvNames?: readonly string[];
}

export interface ServiceBindingWebhooks {
  index: ServiceBindingIndex;
  forwarder: TriggerForwarder;
  configurations: WebhookConfigurationReconciler;
  access: AccessChecker;
}

/**
 * Adds the ServiceBinding webhooks to `manager`: `/interceptor` (mutating: projects bindings into
 * workloads at CREATE/UPDATE), `/trigger` (validating, always allows: enqueues affected bindings;
 * from a non-leader through an annotation patch on the binding), and validation of ServiceBinding
 * and ClusterWorkloadResourceMapping. All are served by every replica from an in-memory index; the
 * leader keeps the configurations' rules in step with the bindings.
 *
 * ```ts
 * const controller = addServiceBindingController(manager);
 * const server = new WebhookServer({ port: 9443, host: '0.0.0.0', certDir: '/tmp/k8s-webhook-server/serving-certs' });
 * addServiceBindingWebhooks(manager, { server, controller }); // rules only, manifests ship the rest
 * // dev mode, no manifests: a self-signed certificate and configurations pointing at a URL
 * const certs = await generateSelfSigned({ service: 'bindery', namespace: 'default', extraHosts: ['127.0.0.1'] });
 * const server = new WebhookServer({ port: 0, tls: certs.serving });
 * await server.listen();
 * addServiceBindingWebhooks(manager, { server, controller, clientConfig: { endpoint: { url: server.url('') }, caBundle: certs.caBundle } });
 * ```
 *
 * The interceptor and trigger configurations carry `bindery.dev/managed-rules: "true"`: their
 * rules change at run time (server-side apply, field manager `bindery-webhooks`). Tell a GitOps tool
 * to ignore them — Argo CD: `ignoreDifferences: [{group: admissionregistration.k8s.io, kind:
 * MutatingWebhookConfiguration, managedFieldsManagers: [bindery-webhooks]}]` (same for Validating);
 * Flux: `kustomize.toolkit.fluxcd.io/ssa: IfNotPresent` on them; kapp: a rebase rule for
 * `webhooks[*].rules`. RBAC: `patch` on servicebindings (non-leader triggers), `get`/`create`/`patch`
 * on both webhook configuration kinds, and `create` selfsubjectaccessreviews (every user may).
 */
export function addServiceBindingWebhooks(
  manager: Manager,
  options: AddServiceBindingWebhooksOptions,
): ServiceBindingWebhooks {
  const client: KubeClient = manager.client;
  const index = new ServiceBindingIndex();
  index.attach(manager.informer(serviceBindingType));

  // The controller's mapping lookup, from the cache; the request names the resource, so no discovery.
  const mapping: MappingLookup = async (workload, signal) => {
    const resolver = new Resolver({
      apiReader: manager.client,
      cacheReader: manager.cachedClient,
      resourceFor: (type) =>
        Promise.resolve({ group: parseApiVersion(type.apiVersion).group, resource: workload.resource }),
    });
    return (await resolver.resolveMapping(workload, signal)).spec;
  };

  const forwarder = new TriggerForwarder({
    isLeader: () => manager.leading,
    enqueue: (b) => options.controller.enqueue(b),
    exists: (b) => index.has(b),
    client,
    log: manager.log,
    ...(options.triggerDebounceMs !== undefined ? { debounceMs: options.triggerDebounceMs } : {}),
  });
  const access = new AccessChecker({
    client,
    clock: manager.config.clock,
    ...(options.accessReviewTtlMs !== undefined ? { ttlMs: options.accessReviewTtlMs } : {}),
  });
  const configurations = new WebhookConfigurationReconciler({
    index,
    client,
    resourceFor: (type) => client.discovery.resourceFor(type),
    access,
    log: manager.log,
    ...(options.names ? { names: options.names } : {}),
    ...(options.clientConfig ? { clientConfig: options.clientConfig } : {}),
    ...(options.namespaceSelector ? { namespaceSelector: options.namespaceSelector } : {}),
    ...(options.rulesResyncMs !== undefined ? { resyncMs: options.rulesResyncMs } : {}),
  });

  const { server } = options;
  server.register(
    interceptorPath,
    interceptor({
      index,
      mapping,
      ...(options.deniedEnvNames !== undefined && { deniedEnvNames: options.deniedEnvNames }),
    }),
  );
  server.register(triggerPath, trigger({ index, enqueue: (bindings) => forwarder.forward(bindings) }));
  server.register(
    validateServiceBindingPath,
    validateServiceBindingWebhook(
      options.deniedEnvNames !== undefined ? { deniedEnvNames: options.deniedEnvNames } : {},
    ),
  );
  server.register(validateMappingPath, validateMappingWebhook());

  if (options.serve ?? true) manager.addRunnable(server);
  manager.addRunnable(forwarder);
  manager.addRunnable(configurations);
  // Not ready before the bindings are in memory: it would admit workloads unbound.
  manager.addReadyCheck('servicebinding-webhooks', () => index.hasSynced());
  return { index, forwarder, configurations, access };
}
