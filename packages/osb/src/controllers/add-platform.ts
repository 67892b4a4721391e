// Wiring of the instance and credential-binding controllers into a Manager, and the admission paths
// that record the requesting user (`spec.userInfo`) on both kinds.

import { Controller } from '@bindery/runtime';
import type { Manager, WebhookServer } from '@bindery/runtime';
import type { PollingOptions } from '../operations/polling.ts';
import type { BrokerApiProvider } from '../platform/broker-api.ts';
import { userInfoRecorder } from '../platform/identity.ts';
import { serviceCredentialBindingReconciler } from './servicecredentialbinding.ts';
import {
  serviceCredentialBindingType,
  serviceInstanceReconciler,
  serviceInstanceType,
} from './serviceinstance.ts';

export interface AddOsbPlatformControllersOptions {
  /** The OSB client of a broker object (its URL, auth and TLS). */
  brokers: BrokerApiProvider;
  /** `context.clusterid`; default the uid of namespace kube-system. */
  clusterID?: string;
  polling?: PollingOptions;
  /** Workers per controller. Default 4: broker calls wait on the network. */
  workers?: number;
  /** How long a rotated-out credential binding stays valid. Default 5 min. */
  rotationGraceMs?: number;
  /** How long to wait before looking again for a missing reference. Default 30 s. */
  missingReferenceRetryMs?: number;
}

/** Adds the ServiceInstance and ServiceCredentialBinding controllers to `manager`. */
export function addOsbPlatformControllers(
  manager: Manager,
  options: AddOsbPlatformControllersOptions,
): { instances: Controller; bindings: Controller } {
  const common = {
    brokers: options.brokers,
    ...(options.clusterID !== undefined && { clusterID: options.clusterID }),
    ...(options.polling !== undefined && { polling: options.polling }),
    ...(options.missingReferenceRetryMs !== undefined && {
      missingReferenceRetryMs: options.missingReferenceRetryMs,
    }),
  };
  const instances = new Controller({
    name: 'serviceinstance',
    for: serviceInstanceType,
    reconciler: serviceInstanceReconciler(common),
    workers: options.workers ?? 4,
  });
  const bindings = new Controller({
    name: 'servicecredentialbinding',
    for: serviceCredentialBindingType,
    reconciler: serviceCredentialBindingReconciler({
      ...common,
      ...(options.rotationGraceMs !== undefined && { rotationGraceMs: options.rotationGraceMs }),
    }),
    workers: options.workers ?? 4,
  });
  manager.add(instances);
  manager.add(bindings);
  return { instances, bindings };
}

/** The mutating admission paths that record `spec.userInfo`. */
export const userInfoWebhookPaths = {
  serviceInstance: '/mutate-osb-bindery-dev-v1alpha1-serviceinstance',
  serviceCredentialBinding: '/mutate-osb-bindery-dev-v1alpha1-servicecredentialbinding',
} as const;

/** Serves the userInfo recorder at `userInfoWebhookPaths` (register both for CREATE and UPDATE). */
export function registerUserInfoWebhooks(server: WebhookServer): void {
  server.register(userInfoWebhookPaths.serviceInstance, userInfoRecorder());
  server.register(userInfoWebhookPaths.serviceCredentialBinding, userInfoRecorder());
}
