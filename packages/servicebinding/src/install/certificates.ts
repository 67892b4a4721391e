// The webhook serving certificate: cert-manager's Issuer and Certificate, or (self-managed) the
// empty Secret the manager fills.

import type { KubeObject } from '@bindery/kube';
import { installNames, meta } from './names.ts';
import type { Resolved } from './options.ts';

const serviceHosts = (o: Resolved): string[] => [
  `${installNames.webhookService}.${o.namespace}.svc`,
  `${installNames.webhookService}.${o.namespace}.svc.cluster.local`,
];

/** kubebuilder's layout: a self-signed Issuer signs the serving certificate, which is its own CA. */
export function issuer(o: Resolved): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Issuer',
    metadata: meta(installNames.issuer, o.namespace),
    spec: { selfSigned: {} },
  };
}

export function certificate(o: Resolved): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: meta(installNames.certificate, o.namespace),
    spec: {
      secretName: installNames.webhookCertSecret,
      dnsNames: serviceHosts(o),
      issuerRef: { kind: 'Issuer', name: installNames.issuer },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    },
  };
}

/**
 * Self-managed: created empty so the manager needs no `create` on Secrets (which RBAC cannot limit
 * by name). The manager fills it once (the first replica wins by resourceVersion) and every replica
 * serves from it. No `data` here, so re-applying the bundle never resets the CA.
 */
export function webhookCertSecret(o: Resolved): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(installNames.webhookCertSecret, o.namespace),
    type: 'Opaque',
  };
}
