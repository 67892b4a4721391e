// Names, ports and labels the install bundle's objects share, and the manager uses too.

import type { KubeObject } from '@bindery/kube';
import { defaultWebhookConfigurationNames } from '../webhooks/constants.ts';

/** The release the bundle installs; equal to packages/servicebinding/package.json's version (tested). */
export const binderyVersion = '0.1.0';

/** Where a release image is published; `image` overrides it (docs/install.md: it is not built here). */
export const defaultImage = `ghcr.io/bindery/bindery:${binderyVersion}`;

/** Object names; the manager (`bindery manager`) uses the same ones. */
export const installNames = {
  namespace: 'bindery-system',
  serviceAccount: 'bindery-controller',
  deployment: 'bindery-controller',
  podDisruptionBudget: 'bindery-controller',
  aggregateClusterRole: 'bindery-aggregate',
  workloadsClusterRole: 'bindery-workloads',
  managerClusterRole: 'bindery-manager',
  leaderElectionRole: 'bindery-leader-election',
  webhookCertRole: 'bindery-webhook-cert',
  lease: 'bindery-controller-leader',
  webhookService: 'bindery-webhook',
  metricsService: 'bindery-metrics',
  /** cert-manager writes it (`Certificate`), or the manager does (self-managed). */
  webhookCertSecret: 'bindery-webhook-cert',
  issuer: 'bindery-selfsigned',
  certificate: 'bindery-webhook-cert',
  // The webhooks package's defaults: it programs the rules of these configurations.
  interceptorConfiguration: defaultWebhookConfigurationNames.interceptor,
  triggerConfiguration: defaultWebhookConfigurationNames.trigger,
  validationConfiguration: defaultWebhookConfigurationNames.validation,
  // osb: true only: records the requesting user in spec.userInfo of instances and credential bindings.
  osbUserInfoConfiguration: 'bindery-osb-userinfo',
} as const;

/** The manager's ports: webhooks (HTTPS), `/metrics`, `/healthz` + `/readyz`. */
export const installPorts = { webhook: 9443, metrics: 8080, health: 8081 } as const;

/** Where cert-manager's Secret is mounted (controller-runtime's default, which the RI uses too). */
export const certDir = '/tmp/k8s-webhook-server/serving-certs';

/** The RBAC aggregation label (RA-2) and the RI's legacy one, kept so roles written for the RI still apply. */
export const controllerLabel = 'servicebinding.io/controller';
export const legacyControllerLabel = 'service.binding/controller';

export const selectorLabels = {
  'app.kubernetes.io/name': 'bindery',
  'app.kubernetes.io/component': 'controller',
};
export const commonLabels = {
  'app.kubernetes.io/name': 'bindery',
  'app.kubernetes.io/part-of': 'bindery',
  'app.kubernetes.io/version': binderyVersion,
};

export function meta(name: string, ns?: string, extra: Record<string, unknown> = {}): KubeObject['metadata'] {
  return { name, ...(ns !== undefined && { namespace: ns }), labels: { ...commonLabels }, ...extra };
}
