// The install bundle's options, checked and defaulted once.

import { secretAccessModes } from '../resolver/secret-metadata.ts';
import type { SecretAccess } from '../resolver/secret-metadata.ts';
import { defaultImage, installNames } from './names.ts';

export type CertMode = 'cert-manager' | 'self-managed';

export interface InstallOptions {
  /** Where the controller runs. Default `bindery-system`. */
  namespace?: string;
  /** The controller image. Default `defaultImage`. */
  image?: string;
  /**
   * Who issues the webhook serving certificate. `cert-manager` (default): an Issuer and a Certificate,
   * the CA injected by cert-manager's cainjector. `self-managed`: the manager generates a CA, keeps it
   * in a Secret the bundle creates empty, and writes `caBundle` into the webhook configurations itself.
   */
  certMode?: CertMode;
  /** Controller replicas: every replica serves webhooks, the Lease holder reconciles. Default 2. */
  replicas?: number;
  /**
   * `metadata` (default): get/list/watch on Secrets cluster-wide, read as metadata only, for the
   * missing-Secret check and the rollout opt-in. `none`: no verb on Secrets anywhere (in
   * self-managed cert mode, only the one CA Secret of its own namespace, by name), and the manager
   * runs with `--secret-access=none`. See `SecretAccess`.
   */
  secretAccess?: SecretAccess;
  /** Variable names no binding may set (`bindery manager --deny-env`; docs/security.md). Default none. */
  deniedEnvNames?: readonly string[];
  /**
   * Also the OSB platform (@bindery/osb, docs/osb.md): its CRDs, its ClusterRoles, and the manager
   * run with `--osb`. Off by default: it reads broker and parameter Secrets and writes credential
   * Secrets, which the ServiceBinding runtime alone never does. Needs `secretAccess: metadata`.
   */
  osb?: boolean;
}

/** `InstallOptions` with every default filled in. */
export interface Resolved {
  namespace: string;
  image: string;
  certMode: CertMode;
  replicas: number;
  secretAccess: SecretAccess;
  deniedEnvNames: readonly string[];
  osb: boolean;
}

/** Checks the options (clear errors naming the field) and fills in the defaults. */
export function resolve(options: InstallOptions): Resolved {
  const namespace = options.namespace ?? installNames.namespace;
  // A namespace is a DNS-1123 label; it also becomes part of the webhook Service's DNS name.
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new Error(`namespace ${JSON.stringify(namespace)} is not a DNS-1123 label`);
  }
  const replicas = options.replicas ?? 2;
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new Error(`replicas must be a positive integer, got ${String(replicas)}`);
  }
  const image = options.image ?? defaultImage;
  if (image.trim() === '' || /\s/.test(image)) throw new Error(`image ${JSON.stringify(image)} is not valid`);
  const certMode = options.certMode ?? 'cert-manager';
  if (certMode !== 'cert-manager' && certMode !== 'self-managed') {
    throw new Error(`certMode must be cert-manager or self-managed, got ${JSON.stringify(certMode)}`);
  }
  const secretAccess = options.secretAccess ?? 'metadata';
  if (!secretAccessModes.includes(secretAccess)) {
    throw new Error(`secretAccess must be metadata or none, got ${JSON.stringify(secretAccess)}`);
  }
  const deniedEnvNames = options.deniedEnvNames ?? [];
  for (const name of deniedEnvNames) {
    if (name === '' || name.includes('=') || name.includes(',') || /\s/.test(name)) {
      throw new Error(`deniedEnvNames: ${JSON.stringify(name)} is not a variable name`);
    }
  }
  const osb = options.osb ?? false;
  if (osb && secretAccess === 'none') {
    throw new Error(
      'osb needs Secrets (broker credentials, credential bindings): not with secretAccess none',
    );
  }
  return { namespace, image, certMode, replicas, secretAccess, deniedEnvNames, osb };
}
