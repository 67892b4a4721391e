// `bindery manager`: the controller manager's options (run by ../manager.ts).

import { secretAccessModes } from '../../resolver/secret-metadata.ts';
import type { SecretAccess } from '../../resolver/secret-metadata.ts';
import { certDir, installNames, installPorts } from '../../install/names.ts';
import {
  certModes,
  connectionOptions,
  deniedEnv,
  denyEnv,
  help,
  integer,
  logLevel,
  logLevels,
  oneOf,
  optional,
  osbFlag,
  parseBindAddress,
  required,
  secretAccess,
  str,
  UsageError,
} from './options.ts';
import type { BindAddress, CommandSpec, LogLevel, Values } from './options.ts';

export const spec: CommandSpec = {
  summary: 'Run the ServiceBinding controller and its admission webhooks',
  description: `Runs the controller manager: the ServiceBinding controller (on the leader), the admission webhooks
(/interceptor, /trigger and API validation, on every replica), /metrics, /healthz and /readyz.
It connects with --kubeconfig, else $KUBECONFIG, else the pod's service account, else ~/.kube/config.
SIGTERM or SIGINT stops it gracefully: in-flight reconciles finish and the Lease is released.

Serving certificate (--cert-mode):
  cert-manager   read tls.crt and tls.key from --cert-dir, reloaded when they change (the default)
  self-managed   generate a CA and a serving certificate, and write the CA into the webhook
                 configurations' caBundle; with --cert-secret the CA is kept in that Secret, so
                 every replica and restart serves the same one (--self-signed is a shorthand)`,
  options: {
    ...connectionOptions,
    namespace: {
      type: 'string',
      value: '<ns>',
      description: "The manager's namespace (Lease, CA Secret); default $POD_NAMESPACE",
    },
    'metrics-bind-address': {
      type: 'string',
      value: '<addr>',
      default: `:${installPorts.metrics}`,
      description: '/metrics on host:port or :port; 0 turns it off',
    },
    'health-probe-bind-address': {
      type: 'string',
      value: '<addr>',
      default: `:${installPorts.health}`,
      description: '/healthz and /readyz on host:port or :port; 0 turns it off',
    },
    'webhook-port': {
      type: 'string',
      value: '<port>',
      default: String(installPorts.webhook),
      description: 'The HTTPS port of the admission webhooks',
    },
    'webhook-host': {
      type: 'string',
      value: '<host>',
      default: '0.0.0.0',
      description: 'The address the webhook server listens on',
    },
    'webhook-url': {
      type: 'string',
      value: '<url>',
      description:
        'Out of cluster: the API server calls the webhooks at this URL, and the manager creates ' +
        'the webhook configurations itself (default: program the installed ones, via the Service)',
    },
    'webhook-service': {
      type: 'string',
      value: '<name>',
      default: installNames.webhookService,
      description: "The webhook Service, in --namespace: the self-managed certificate's DNS names",
    },
    'cert-mode': {
      type: 'string',
      value: '<mode>',
      default: 'cert-manager',
      explicit: true,
      description: 'cert-manager or self-managed (see above)',
    },
    'cert-dir': {
      type: 'string',
      value: '<dir>',
      default: certDir,
      description: 'cert-manager mode: the directory with tls.crt and tls.key',
    },
    'cert-secret': {
      type: 'string',
      value: '<name>',
      description: 'self-managed mode: keep the CA in this Secret of --namespace',
    },
    'self-signed': { type: 'boolean', description: 'The same as --cert-mode=self-managed' },
    'leader-elect': {
      type: 'boolean',
      description: 'Elect a leader through a Lease; required to run more than one replica',
    },
    'leader-election-id': {
      type: 'string',
      value: '<name>',
      default: installNames.lease,
      description: "The Lease's name",
    },
    'leader-election-namespace': {
      type: 'string',
      value: '<ns>',
      description: "The Lease's namespace (default --namespace)",
    },
    workers: {
      type: 'string',
      value: '<n>',
      default: '2',
      description: 'ServiceBindings reconciled at once',
    },
    'sync-period': {
      type: 'string',
      value: '<seconds>',
      default: '36000',
      description: 'How often every cached object is reconciled again though nothing changed (0: never)',
    },
    'no-default-mappings': {
      type: 'boolean',
      description: 'Do not create the default cronjobs.batch mapping when missing (you manage mappings)',
    },
    'secret-access': secretAccess,
    'deny-env': denyEnv,
    osb: {
      type: 'boolean',
      description:
        'Also run the OSB platform: broker, class/plan, ServiceInstance and ServiceCredentialBinding ' +
        'controllers (its CRDs must be installed; see docs/osb.md)',
    },
    'log-level': logLevel,
    help,
  },
  examples: [
    'bindery manager --leader-elect --cert-dir /tmp/k8s-webhook-server/serving-certs',
    'bindery manager --kubeconfig ~/.kube/config --self-signed --webhook-host 127.0.0.1 \\\n' +
      '    --webhook-url https://127.0.0.1:9443',
  ],
};

export interface ManagerArgs {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  metrics: BindAddress | false;
  health: BindAddress | false;
  webhookPort: number;
  webhookHost: string;
  webhookUrl?: string;
  webhookService: string;
  certMode: 'cert-manager' | 'self-managed';
  certDir: string;
  certSecret?: string;
  leaderElect: boolean;
  leaderElectionId: string;
  leaderElectionNamespace?: string;
  workers: number;
  /** `--sync-period`, in seconds: the manager's `syncPeriodMs`. */
  syncPeriodSeconds: number;
  /** Create the default mappings when missing (not with `--no-default-mappings`). */
  defaultMappings: boolean;
  secretAccess: SecretAccess;
  /** `--deny-env`, expanded; empty when not given. */
  deniedEnvNames: string[];
  /** `--osb`: also the OSB platform's controllers. */
  osb: boolean;
  logLevel: LogLevel;
}

export function parseArgs(values: Values): ManagerArgs {
  const c = 'manager';
  const givenMode = str(values, 'cert-mode');
  let certMode = oneOf('cert-mode', givenMode ?? 'cert-manager', certModes, c);
  if (values['self-signed'] === true) {
    if (givenMode === 'cert-manager') {
      throw new UsageError('--self-signed and --cert-mode=cert-manager contradict each other', c);
    }
    certMode = 'self-managed';
  }
  const certSecret = str(values, 'cert-secret');
  if (certSecret !== undefined && certMode !== 'self-managed') {
    throw new UsageError('--cert-secret needs --cert-mode=self-managed (or --self-signed)', c);
  }
  const webhookUrl = str(values, 'webhook-url');
  if (webhookUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(webhookUrl);
    } catch {
      throw new UsageError(`--webhook-url: '${webhookUrl}' is not a URL`, c);
    }
    if (url.protocol !== 'https:')
      throw new UsageError('--webhook-url: the API server calls webhooks over https', c);
  }
  const workers = integer('workers', required(values, 'workers'), c, 1, 1000);
  return {
    ...optional('kubeconfig', str(values, 'kubeconfig')),
    ...optional('context', str(values, 'context')),
    ...optional('namespace', str(values, 'namespace')),
    metrics: parseBindAddress('metrics-bind-address', required(values, 'metrics-bind-address'), c),
    health: parseBindAddress('health-probe-bind-address', required(values, 'health-probe-bind-address'), c),
    webhookPort: integer('webhook-port', required(values, 'webhook-port'), c, 0, 65_535),
    webhookHost: required(values, 'webhook-host'),
    ...optional('webhookUrl', webhookUrl),
    webhookService: required(values, 'webhook-service'),
    certMode,
    certDir: required(values, 'cert-dir'),
    ...optional('certSecret', certSecret),
    leaderElect: values['leader-elect'] === true,
    leaderElectionId: required(values, 'leader-election-id'),
    ...optional('leaderElectionNamespace', str(values, 'leader-election-namespace')),
    workers,
    syncPeriodSeconds: integer('sync-period', required(values, 'sync-period'), c, 0, 7 * 24 * 3600),
    defaultMappings: values['no-default-mappings'] !== true,
    secretAccess: oneOf('secret-access', required(values, 'secret-access'), secretAccessModes, c),
    deniedEnvNames: deniedEnv(str(values, 'deny-env'), c),
    osb: osbFlag(values, c),
    logLevel: oneOf('log-level', required(values, 'log-level'), logLevels, c),
  };
}
