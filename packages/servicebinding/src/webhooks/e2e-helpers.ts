// Shared by the e2e suites that run the ServiceBinding webhooks out of a cluster (tests only): the
// grant of a manager that writes its webhook configurations whole, and removing those afterwards.

import type { PolicyRule } from '@bindery/controlplane';
import type { KubeClient } from '@bindery/kube';
import { bundleControllerRules } from '../controllers/e2e-helpers.ts';
import { defaultWebhookConfigurationNames } from './constants.ts';

/**
 * The bundle's cluster-wide rules, a Lease in any namespace, and creating the webhook configurations
 * (the bundle ships them; out of a cluster the manager creates them), plus the suite's `extra`.
 */
export function webhookManagerRules(extra: PolicyRule[]): PolicyRule[] {
  return [
    ...bundleControllerRules(),
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
    },
    ...extra,
  ];
}

/** Deletes the webhook configurations the managers wrote: once nothing serves them, the interceptor fails closed. */
export async function deleteWebhookConfigurations(admin: KubeClient): Promise<void> {
  for (const name of Object.values(defaultWebhookConfigurationNames)) {
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      await admin
        .delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind, name })
        .catch(() => undefined);
    }
  }
}
