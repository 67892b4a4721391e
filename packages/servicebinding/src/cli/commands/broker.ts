// `bindery broker`: the sample Open Service Broker's options (run by ../broker.ts).

import {
  connectionOptions,
  help,
  integer,
  logLevel,
  logLevels,
  oneOf,
  optional,
  parseBindAddress,
  required,
  str,
  UsageError,
} from './options.ts';
import type { BindAddress, CommandSpec, LogLevel, Values } from './options.ts';

export const spec: CommandSpec = {
  summary: 'Run the sample Open Service Broker against a cluster',
  description: `Serves the sample OSB 2.17 broker of @bindery/osb-broker: two offerings (bindery-database,
bindery-queue) whose instances are Secrets with generated credentials in --namespace, provisioned
asynchronously in --async-delay when the platform accepts it, with credentials derived per binding.
Its state lives in those Secrets, so a restarted broker answers last_operation, GET and repeated
PUTs as before. Out of a cluster it uses --kubeconfig (or $KUBECONFIG); in one, the pod's service
account, which needs Secrets in --namespace and, for --token-review, system:auth-delegator.

Authentication (one is required): HTTP Basic with the user and password of
$BINDERY_BROKER_USERNAME and $BINDERY_BROKER_PASSWORD (never on the command line); Kubernetes
bearer tokens with --token-review (TokenReview, then a SubjectAccessReview on /v2 and /v2/*);
or --insecure-no-auth, for a broker on loopback only.`,
  options: {
    ...connectionOptions,
    kubeconfig: {
      ...connectionOptions.kubeconfig,
      description: 'Out of cluster: the kubeconfig (default $KUBECONFIG, ~/.kube/config, in-cluster)',
    },
    namespace: {
      type: 'string',
      value: '<ns>',
      default: 'bindery-broker',
      description: 'Where the instances and bindings are kept (created if missing)',
    },
    'bind-address': {
      type: 'string',
      value: '<addr>',
      default: ':8080',
      description: 'The OSB API (and /healthz, /metrics) on host:port or :port',
    },
    'async-delay': {
      type: 'string',
      value: '<ms>',
      default: '5000',
      description: 'How long an asynchronous operation takes, in milliseconds',
    },
    'token-review': { type: 'boolean', description: 'Accept Kubernetes bearer tokens (see above)' },
    'insecure-no-auth': { type: 'boolean', description: 'Let every request in (loopback only)' },
    'tls-cert-file': {
      type: 'string',
      value: '<path>',
      description: 'Serve HTTPS with this certificate (PEM)',
    },
    'tls-key-file': { type: 'string', value: '<path>', description: 'The key of --tls-cert-file (PEM)' },
    'min-api-version': {
      type: 'string',
      value: '<v>',
      default: '2.13',
      description: 'The oldest X-Broker-API-Version accepted (412 below it)',
    },
    'log-level': logLevel,
    help,
  },
  examples: [
    'BINDERY_BROKER_USERNAME=platform BINDERY_BROKER_PASSWORD=... bindery broker --kubeconfig ~/.kube/config',
    'bindery broker --token-review --bind-address :8443 --tls-cert-file tls.crt --tls-key-file tls.key',
  ],
};

export interface BrokerArgs {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  bindAddress: BindAddress;
  asyncDelayMs: number;
  tokenReview: boolean;
  insecureNoAuth: boolean;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  minApiVersion: string;
  logLevel: LogLevel;
}

export function parseArgs(values: Values): BrokerArgs {
  const c = 'broker';
  const bindAddress = parseBindAddress('bind-address', required(values, 'bind-address'), c);
  if (bindAddress === false) throw new UsageError('--bind-address: the broker cannot be turned off', c);
  const tlsCertFile = str(values, 'tls-cert-file');
  const tlsKeyFile = str(values, 'tls-key-file');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new UsageError('--tls-cert-file and --tls-key-file go together', c);
  }
  const minApiVersion = required(values, 'min-api-version');
  if (!/^2\.\d{1,2}$/.test(minApiVersion)) {
    throw new UsageError(`--min-api-version: expected 2.MINOR, got '${minApiVersion}'`, c);
  }
  return {
    ...optional('kubeconfig', str(values, 'kubeconfig')),
    ...optional('context', str(values, 'context')),
    namespace: required(values, 'namespace'),
    bindAddress,
    asyncDelayMs: integer('async-delay', required(values, 'async-delay'), c, 0, 3_600_000),
    tokenReview: values['token-review'] === true,
    insecureNoAuth: values['insecure-no-auth'] === true,
    ...optional('tlsCertFile', tlsCertFile),
    ...optional('tlsKeyFile', tlsKeyFile),
    minApiVersion,
    logLevel: oneOf('log-level', required(values, 'log-level'), logLevels, c),
  };
}
