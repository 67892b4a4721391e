// `bindery manifests`: the install bundle's options (run by ../manifests.ts).

import { secretAccessModes } from '../../resolver/secret-metadata.ts';
import type { SecretAccess } from '../../resolver/secret-metadata.ts';
import { installNames } from '../../install/names.ts';
import {
  certModes,
  deniedEnv,
  denyEnv,
  help,
  integer,
  oneOf,
  optional,
  osbFlag,
  required,
  secretAccess,
  str,
  UsageError,
} from './options.ts';
import type { CommandSpec, Values } from './options.ts';

export const spec: CommandSpec = {
  summary: 'Print the install bundle (YAML) to stdout',
  description: `Renders every object a cluster needs to run Bindery — Namespace, CRDs, RBAC, certificates,
Services, Deployment, the default ClusterWorkloadResourceMapping and the webhook configurations —
as one multi-document YAML file. Apply it server-side, as docs/install.md shows.`,
  options: {
    namespace: {
      type: 'string',
      value: '<ns>',
      default: installNames.namespace,
      description: 'Where the controller runs',
    },
    image: { type: 'string', value: '<image>', description: 'The controller image (default the release)' },
    'cert-mode': {
      type: 'string',
      value: '<mode>',
      default: 'cert-manager',
      description: 'cert-manager (needs cert-manager installed) or self-managed',
    },
    replicas: { type: 'string', value: '<n>', default: '2', description: 'Controller replicas' },
    'secret-access': {
      ...secretAccess,
      description: `${secretAccess.description}; none also drops the Secret grant from the RBAC`,
    },
    'deny-env': denyEnv,
    osb: {
      type: 'boolean',
      description: 'Also install the OSB platform: its CRDs and ClusterRoles, and the manager run with --osb',
    },
    help,
  },
  examples: [
    'bindery manifests | kubectl apply --server-side -f -',
    'bindery manifests --cert-mode self-managed --namespace platform > bindery.yaml',
  ],
};

export interface ManifestsArgs {
  namespace: string;
  image?: string;
  certMode: 'cert-manager' | 'self-managed';
  replicas: number;
  secretAccess: SecretAccess;
  /** `--deny-env`, expanded; empty when not given. */
  deniedEnvNames: string[];
  osb: boolean;
}

export function parseArgs(values: Values): ManifestsArgs {
  const c = 'manifests';
  const namespace = required(values, 'namespace');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new UsageError(`--namespace: '${namespace}' is not a valid namespace name (a DNS-1123 label)`, c);
  }
  return {
    namespace,
    ...optional('image', str(values, 'image')),
    certMode: oneOf('cert-mode', required(values, 'cert-mode'), certModes, c),
    replicas: integer('replicas', required(values, 'replicas'), c, 1, 100),
    secretAccess: oneOf('secret-access', required(values, 'secret-access'), secretAccessModes, c),
    deniedEnvNames: deniedEnv(str(values, 'deny-env'), c),
    osb: osbFlag(values, c),
  };
}
