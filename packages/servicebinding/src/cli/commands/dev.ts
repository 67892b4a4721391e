// `bindery dev`: the local environment's options (run by ../dev.ts).

import { help, logLevel, logLevels, oneOf, parseBindAddress, required } from './options.ts';
import type { BindAddress, CommandSpec, LogLevel, Values } from './options.ts';

export const spec: CommandSpec = {
  summary: 'Start a local control plane with Bindery running in it, until Ctrl-C',
  description: `Starts a real kube-apiserver and etcd on loopback (built with Go the first time, about 10 minutes;
cached in ~/.cache/bindery), installs the servicebinding.io CRDs and the default
ClusterWorkloadResourceMapping, and runs the manager in this process with its webhooks registered
by URL. Once everything is ready it writes the admin kubeconfig (atomically, so a watcher never
reads half of it) and prints how to point kubectl at it. There is no kubelet: Deployments are
stored and bound, but no pod runs. Ctrl-C (or SIGTERM) stops it all and removes the kubeconfig.`,
  options: {
    'kubeconfig-out': {
      type: 'string',
      value: '<path>',
      default: '.bindery/kubeconfig',
      description: 'Where to write the admin kubeconfig once ready',
    },
    samples: {
      type: 'boolean',
      description:
        'Also apply samples/servicebinding/* to the default namespace, and the OSB path: the sample broker in-process, a ClusterServiceBroker for it, and samples/osb',
    },
    'metrics-bind-address': {
      type: 'string',
      value: '<addr>',
      default: '127.0.0.1:0',
      description: '/metrics (port 0: a free one, printed); 0 turns it off',
    },
    'health-probe-bind-address': {
      type: 'string',
      value: '<addr>',
      default: '127.0.0.1:0',
      description: '/healthz and /readyz (port 0: a free one, printed)',
    },
    verbose: { type: 'boolean', description: "Echo kube-apiserver's and etcd's output" },
    'log-level': { ...logLevel, default: 'warn' },
    help,
  },
  examples: [
    'scripts/npm run dev',
    'bindery dev --samples',
    'bindery dev --kubeconfig-out /tmp/kc & until [ -f /tmp/kc ]; do sleep 1; done',
  ],
};

export interface DevArgs {
  kubeconfigOut: string;
  samples: boolean;
  metrics: BindAddress | false;
  health: BindAddress | false;
  verbose: boolean;
  logLevel: LogLevel;
}

export function parseArgs(values: Values): DevArgs {
  const c = 'dev';
  return {
    kubeconfigOut: required(values, 'kubeconfig-out'),
    samples: values['samples'] === true,
    metrics: parseBindAddress('metrics-bind-address', required(values, 'metrics-bind-address'), c),
    health: parseBindAddress('health-probe-bind-address', required(values, 'health-probe-bind-address'), c),
    verbose: values['verbose'] === true,
    logLevel: oneOf('log-level', required(values, 'log-level'), logLevels, c),
  };
}
