// The SecretMount controller: the subject reconciler under a Manager, and the admission
// controller behind a WebhookServer. `main.ts` runs it against a cluster; the e2e test
// runs the same wiring against a real control plane.

import type { KubeClient } from '@bindery/kube';
import { BindingAdmissionController, SubjectReconciler } from '@bindery/bindings';
import { Controller } from '@bindery/runtime';
import type { Manager, WebhookServer } from '@bindery/runtime';
import { secretMount, secretMountType } from './secret-mount.ts';
import type { SecretMount } from './secret-mount.ts';

export const secretMountFinalizer = 'secretmounts.samples.bindery.dev/finalizer';
/** The MutatingWebhookConfiguration in `config/webhook.yaml`; the controller owns its rules. */
export const webhookConfigurationName = 'secret-mount-bindings';
export const webhookPath = '/bind-secret-mounts';

export function secretMountReconciler(): SubjectReconciler<SecretMount> {
  return new SubjectReconciler<SecretMount>({
    name: 'SecretMount',
    type: secretMountType,
    bindable: secretMount,
    finalizer: secretMountFinalizer,
    fieldManager: 'secret-mount-controller',
  });
}

export interface SecretMountOptions {
  /** The manager's client: it reads the webhook configuration and discovers plurals. */
  client: KubeClient;
  server: WebhookServer;
  workers?: number;
}

/** Adds the reconciler, the admission controller and the webhook server to `manager`. */
export function addSecretMount(
  manager: Manager,
  options: SecretMountOptions,
): { controller: Controller; admission: BindingAdmissionController<SecretMount> } {
  const controller = new Controller({
    name: 'secretmount',
    for: secretMountType,
    reconciler: secretMountReconciler(),
    workers: options.workers ?? 2,
  });
  manager.add(controller);

  const { client } = options;
  const admission = new BindingAdmissionController<SecretMount>({
    type: secretMountType,
    bindable: secretMount,
    // The controller's informer: one watch of SecretMounts feeds both.
    bindings: manager.informers.informerFor<SecretMount>({ type: secretMountType }),
    rules: {
      configurationName: webhookConfigurationName,
      client,
      resourceFor: (type) => client.discovery.resourceFor(type),
    },
    log: manager.log,
  });
  options.server.register(webhookPath, admission.handler);
  // Both run on every replica: admission does not wait for leadership.
  manager.addRunnable(options.server);
  manager.addRunnable(admission);
  return { controller, admission };
}
