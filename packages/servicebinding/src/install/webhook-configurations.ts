// The admission webhook configurations: the interceptor and trigger (rules programmed by the
// manager at run time), the ServiceBinding/mapping validation, and (osb) the OSB userInfo webhook.

import type { KubeObject } from '@bindery/kube';
import { userInfoWebhookPaths } from '@bindery/osb';
import {
  interceptorPath,
  managedRulesAnnotation,
  triggerPath,
  validateMappingPath,
  validateServiceBindingPath,
  webhookNames,
} from '../webhooks/constants.ts';
import { installNames, meta } from './names.ts';
import type { Resolved } from './options.ts';

/**
 * On the webhook configurations whose `rules` the manager rewrites at run time (server-side apply,
 * field manager `bindery-webhooks`): the webhooks package's marker, and Argo CD told to diff
 * server-side, so the fields the bundle leaves out (`rules`, `caBundle`) never show as drift.
 */
export const dynamicWebhookAnnotations: Readonly<Record<string, string>> = {
  [managedRulesAnnotation]: 'true',
  'argocd.argoproj.io/compare-options': 'ServerSideDiff=true',
};

function webhookMeta(o: Resolved, name: string, dynamicRules: boolean): KubeObject['metadata'] {
  const annotations: Record<string, string> = {
    ...(dynamicRules ? dynamicWebhookAnnotations : {}),
    ...(o.certMode === 'cert-manager' && {
      'cert-manager.io/inject-ca-from': `${o.namespace}/${installNames.certificate}`,
    }),
  };
  return { ...meta(name), ...(Object.keys(annotations).length > 0 && { annotations }) };
}

const clientConfig = (o: Resolved, path: string) => ({
  // No caBundle: cert-manager's cainjector or the manager (self-managed) owns it.
  service: { name: installNames.webhookService, namespace: o.namespace, path, port: 443 },
});

/** The workload webhooks never see the controller's own namespace nor kube-system. */
const workloadNamespaceSelector = (o: Resolved) => ({
  matchExpressions: [
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', o.namespace] },
  ],
});

/**
 * Projects bindings into workloads on CREATE and UPDATE. No `rules`: the manager adds the kinds that
 * bindings target (and that it may update). Fails closed: a workload admitted without its projection
 * would run unbound.
 */
export function interceptorConfiguration(o: Resolved): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: webhookMeta(o, installNames.interceptorConfiguration, true),
    webhooks: [
      {
        name: webhookNames.interceptor,
        admissionReviewVersions: ['v1'],
        clientConfig: clientConfig(o, interceptorPath),
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
        namespaceSelector: workloadNamespaceSelector(o),
        reinvocationPolicy: 'IfNeeded',
        sideEffects: 'None',
        timeoutSeconds: 10,
      },
    ],
  };
}

/**
 * Enqueues bindings when a workload or Provisioned Service they track changes. No `rules`: the
 * manager adds them. Ignores failures: it only speeds up what periodic resyncs do anyway.
 */
export function triggerConfiguration(o: Resolved): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: webhookMeta(o, installNames.triggerConfiguration, true),
    webhooks: [
      {
        name: webhookNames.trigger,
        admissionReviewVersions: ['v1'],
        clientConfig: clientConfig(o, triggerPath),
        failurePolicy: 'Ignore',
        matchPolicy: 'Equivalent',
        namespaceSelector: workloadNamespaceSelector(o),
        sideEffects: 'None',
        timeoutSeconds: 5,
      },
    ],
  };
}

/**
 * Validates ServiceBindings and mappings beyond what the CRD schema can (name rules, immutable
 * workload kind, Fixed JSONPaths). Fixed rules, every served version (the schemas are the same).
 */
export function validationConfiguration(o: Resolved): KubeObject {
  const rule = (resource: string, scope: 'Namespaced' | 'Cluster') => ({
    apiGroups: ['servicebinding.io'],
    apiVersions: ['*'],
    operations: ['CREATE', 'UPDATE'],
    resources: [resource],
    scope,
  });
  const webhook = (name: string, path: string, r: ReturnType<typeof rule>) => ({
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: clientConfig(o, path),
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    rules: [r],
    sideEffects: 'None',
    timeoutSeconds: 10,
  });
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: webhookMeta(o, installNames.validationConfiguration, false),
    webhooks: [
      webhook(webhookNames.serviceBinding, validateServiceBindingPath, rule('servicebindings', 'Namespaced')),
      webhook(webhookNames.mapping, validateMappingPath, rule('clusterworkloadresourcemappings', 'Cluster')),
    ],
  };
}

/**
 * Records who created or changed a ServiceInstance or ServiceCredentialBinding in `spec.userInfo`,
 * which the OSB controllers send as `X-Broker-API-Originating-Identity`. Fails closed: an object
 * admitted without it could carry any user's identity.
 */
export function osbUserInfoConfiguration(o: Resolved): KubeObject {
  const webhook = (name: string, path: string, resource: string) => ({
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: clientConfig(o, path),
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    rules: [
      {
        apiGroups: ['osb.bindery.dev'],
        apiVersions: ['*'],
        operations: ['CREATE', 'UPDATE'],
        resources: [resource],
        scope: 'Namespaced',
      },
    ],
    sideEffects: 'None',
    timeoutSeconds: 10,
  });
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: webhookMeta(o, installNames.osbUserInfoConfiguration, false),
    webhooks: [
      webhook(
        'serviceinstance.userinfo.osb.bindery.dev',
        userInfoWebhookPaths.serviceInstance,
        'serviceinstances',
      ),
      webhook(
        'servicecredentialbinding.userinfo.osb.bindery.dev',
        userInfoWebhookPaths.serviceCredentialBinding,
        'servicecredentialbindings',
      ),
    ],
  };
}
